// «Перенос покупателей»: preview, run, stop and resume the customer import, its progress, counts
// and report, and the CSV of problem rows. Administrators only. Listens for the session app.js
// opens; no cookies, no inline scripts.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var session = null;
  var timer = null;
  var PHASE_TEXT = { read: 'чтение из МоегоСклада', match: 'проверка в БонусПлюс', execute: 'перенос', finished: 'готово' };
  var STATE_TEXT = { running: 'идёт', stopping: 'останавливается', stopped: 'остановлен', done: 'завершён', failed: 'ошибка' };

  function call(method, path, body) {
    var headers = { 'Accept': 'application/json', 'Authorization': 'Bearer ' + session.sessionToken };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    return fetch(path, {
      method: method, headers: headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (path.slice(-4) === '.csv' && response.ok) { return response.blob(); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || ('Ошибка ' + response.status)); }
        return data;
      });
    });
  }

  function showError(text) {
    $('import-error').textContent = text || '';
    $('import-error').hidden = !text;
  }

  function row(label, value) {
    var tr = document.createElement('tr');
    var th = document.createElement('th');
    th.textContent = label;
    var td = document.createElement('td');
    td.className = 'num';
    td.textContent = String(value);
    tr.appendChild(th);
    tr.appendChild(td);
    $('import-rows').appendChild(tr);
  }

  function render(answer) {
    var run = answer.run;
    $('import-rows').textContent = '';
    $('import-counts').hidden = !run;
    if (!run) { $('import-state').textContent = 'Перенос ещё не запускался.'; return; }
    var going = run.state === 'running' || run.state === 'stopping';
    var eta = run.etaSeconds !== null && going ? ', осталось около ' + Math.max(1, Math.round(run.etaSeconds / 60)) + ' мин' : '';
    var where = run.phase === 'finished' ? '' : ' · этап «' + (PHASE_TEXT[run.phase] || run.phase) + '» · ' +
      run.processed + ' из ' + run.phaseTotal + eta;
    $('import-state').textContent = (run.dryRun ? 'Предпросмотр' : 'Перенос') + ': ' +
      (STATE_TEXT[run.state] || run.state) + where;
    $('import-progress').hidden = !going;
    $('import-progress').value = run.percent;
    showError(run.state === 'done' ? '' : run.lastError);
    $('import-stop').hidden = run.state !== 'running';
    $('import-resume').hidden = !(run.state === 'stopped' || run.state === 'failed');
    $('import-preview').disabled = going;
    $('import-run').disabled = going;
    var p = run.preview;
    row('Прочитано контрагентов', p.read);
    row('Не подошли под фильтры', p.filtered);
    row('Новые для БонусПлюс', p['new']);
    row('Уже в БонусПлюс (по телефону)', p.existingByPhone);
    row('Уже в БонусПлюс (по карте)', p.existingByCard);
    row('Перенесены раньше', p.doneBefore);
    p.problems.concat(p.notes).forEach(function (problem) { row(problem.reason, problem.count); });
    row('Баллы к начислению: покупателей', p.toCredit);
    row('Баллы к начислению: всего', p.toCreditTotal);
    if (!run.dryRun) {
      var r = run.result;
      row('Создано в БонусПлюс', r.created);
      row('Связано с контрагентами', r.linked);
      row('Начислено: покупателей', r.credited);
      row('Начислено: всего', r.creditedTotal);
      row('Требуют решения', r.parked);
      row('Отказы БонусПлюс', r.failed);
    }
    $('import-csv').hidden = !(p.problems.length || p.notes.length);
    if (going && !timer) { timer = setTimeout(function () { timer = null; load(); }, 1000); }
  }

  function load() {
    call('GET', '/ui/api/import').then(render).catch(function (error) { showError(error.message); });
  }

  function options(dryRun) {
    var tags = $('import-tags').value.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
    var body = {
      dryRun: dryRun,
      filters: {
        tags: tags,
        skipArchived: $('import-skip-archived').checked,
        onlyWithCard: $('import-only-card').checked,
        onlyWithPoints: $('import-only-points').checked
      },
      creditExisting: $('import-credit-existing').checked
    };
    var days = parseInt($('import-burns').value, 10);
    if (!isNaN(days)) { body.burnsInDays = days; }
    return body;
  }

  function post(path, body) {
    showError('');
    call('POST', path, body).then(render).catch(function (error) { showError(error.message); });
  }

  $('import-preview').addEventListener('click', function () { post('/ui/api/import', options(true)); });
  $('import-run').addEventListener('click', function () { post('/ui/api/import', options(false)); });
  $('import-stop').addEventListener('click', function () { post('/ui/api/import/stop'); });
  $('import-resume').addEventListener('click', function () { post('/ui/api/import/resume'); });
  $('import-csv').addEventListener('click', function () {
    call('GET', '/ui/api/import/problems.csv').then(function (blob) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = 'import-problems.csv';
      document.body.appendChild(link);
      link.click();
      link.remove();
    }).catch(function (error) { showError(error.message); });
  });

  document.addEventListener('bonusbridge:session', function (event) {
    session = event.detail;
    if (!session.admin) { return; }
    $('import-card').hidden = false;
    load();
  });
})();
