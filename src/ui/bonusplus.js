// «Подключение к БонусПлюс»: the connection check (each read-only call with ✓/✗, its status and
// what was wrong); in «Требуют внимания» the answers of BonusPlus that differ from what the app
// expects (once per point); «Сертификаты по номеру»: the shop's list of printed numbers imported
// (administrators). Any user of the account otherwise. Listens for the session app.js opens; no cookies, no
// inline scripts.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var session = null;

  // app.js's request to /ui/api, with the session it opened.
  function call(method, path, body) {
    return window.BonusBridge.api(method, path, body);
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  // A line of outcome under a card: green when it went well, hidden when empty.
  function showResult(id, text, ok) {
    var box = $(id);
    box.textContent = text;
    box.className = ok ? 'doctor-ok' : 'doctor-fail';
    box.hidden = !text;
  }

  function summary(text, ok) { showResult('doctor-summary', text, ok); }

  function render(answer) {
    var rows = $('doctor-rows');
    rows.textContent = '';
    answer.checks.forEach(function (check) {
      var row = document.createElement('tr');
      row.className = check.ok ? 'check-ok' : 'check-fail';
      cell(row, check.ok ? '✓' : '✗', check.ok ? 'doctor-ok mark' : 'doctor-fail mark');
      cell(row, check.what);
      cell(row, check.call, 'mono');
      cell(row, check.status ? 'HTTP ' + check.status : 'нет ответа');
      cell(row, check.reason || check.note || '', check.ok ? 'muted' : 'error-text');
      rows.appendChild(row);
    });
    $('doctor-results').hidden = false;
    var failed = answer.checks.filter(function (check) { return !check.ok; }).length;
    summary(failed ? 'Не прошло проверок: ' + failed + ' из ' + answer.checks.length
      : 'Все проверки пройдены: БонусПлюс отвечает как ожидается.', !failed);
  }

  $('doctor-run').addEventListener('click', function () {
    var button = $('doctor-run');
    button.disabled = true;
    summary('Проверяем…', true);
    call('POST', '/ui/api/doctor').then(render).catch(function (error) {
      $('doctor-results').hidden = true;
      summary(error.message, false);
    }).then(function () { button.disabled = false; });
  });

  function renderDifferences(answer) {
    var box = $('differences');
    box.textContent = '';
    answer.differences.forEach(function (item) {
      var block = document.createElement('div');
      block.className = 'attention difference';
      block.setAttribute('data-point', item.point);
      var head = document.createElement('div');
      head.className = 'op-title';
      head.textContent = item.what + ' — ' + item.call + (item.status ? ' → HTTP ' + item.status : '') +
        ', раз: ' + item.seen + ', последний — ' + new Date(item.lastSeenAt).toLocaleString('ru-RU');
      block.appendChild(head);
      var done = document.createElement('div');
      done.textContent = 'Что сделано: ' + item.didInstead + (item.detail ? ' (' + item.detail + ')' : '');
      block.appendChild(done);
      if (item.shape) {
        var shape = document.createElement('div');
        shape.className = 'muted mono';
        shape.textContent = 'Вид ответа: ' + item.shape;
        block.appendChild(shape);
      }
      box.appendChild(block);
    });
    if (!answer.differences.length) {
      var none = document.createElement('p');
      none.className = 'muted';
      none.textContent = 'Нет';
      box.appendChild(none);
    }
  }

  function certificatesResult(text, ok) { showResult('certificates-result', text, ok); }

  function renderImported(answer) {
    $('certificates-known').textContent = String(answer.known);
    certificatesResult('Загружено номеров: ' + answer.imported +
      (answer.problems.length ? ', строк с ошибками: ' + answer.problems.length : ''), !answer.problems.length);
    var list = $('certificates-problems');
    list.textContent = '';
    answer.problems.slice(0, 50).forEach(function (problem) {
      var li = document.createElement('li');
      li.className = 'error-text';
      li.textContent = 'Строка ' + problem.line + ': ' + problem.reason;
      list.appendChild(li);
    });
    list.hidden = !answer.problems.length;
  }

  $('certificates-import').addEventListener('click', function () {
    var file = $('certificates-file').files[0];
    if (!file) { certificatesResult('Выберите файл CSV со списком сертификатов', false); return; }
    var button = $('certificates-import');
    button.disabled = true;
    var reader = new FileReader();
    reader.onload = function () {
      call('POST', '/ui/api/certificates/import', { csv: String(reader.result) }).then(renderImported)
        .catch(function (error) { certificatesResult(error.message, false); })
        .then(function () { button.disabled = false; });
    };
    reader.onerror = function () { button.disabled = false; certificatesResult('Файл не прочитан', false); };
    reader.readAsText(file, 'utf-8');
  });

  document.addEventListener('bonusbridge:session', function (event) {
    session = event.detail;
    $('doctor-card').hidden = false;
    $('certificates-card').hidden = false;
    $('certificates-admin').hidden = !session.admin;
    call('GET', '/ui/api/certificates').then(function (answer) {
      $('certificates-known').textContent = String(answer.known);
    }).catch(function () { $('certificates-known').textContent = '—'; });
    call('GET', '/ui/api/differences').then(renderDifferences).catch(function () {
      $('differences').textContent = 'Не удалось загрузить';
    });
  });
})();
