// «Подключение к БонусПлюс»: the connection check (each read-only call with ✓/✗, its status and
// what was wrong). Any user of the account. Listens for the session app.js opens; no cookies, no
// inline scripts.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var session = null;

  function call(method, path) {
    return fetch(path, {
      method: method,
      headers: { 'Accept': 'application/json', 'Authorization': 'Bearer ' + session.sessionToken },
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || ('Ошибка ' + response.status)); }
        return data;
      });
    });
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  function summary(text, ok) {
    var box = $('doctor-summary');
    box.textContent = text;
    box.className = ok ? 'doctor-ok' : 'doctor-fail';
    box.hidden = !text;
  }

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

  document.addEventListener('bonusbridge:session', function (event) {
    session = event.detail;
    $('doctor-card').hidden = false;
  });
})();
