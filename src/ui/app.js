// The settings page: exchanges MoySklad's contextKey for a session token kept in memory only,
// then reads and saves the settings through /ui/api. No cookies, no inline scripts.
(function () {
  'use strict';

  var STATUS_TEXT = {
    Activated: 'Работает',
    SettingsRequired: 'Требуется настройка',
    Suspended: 'Приостановлено',
    Uninstalled: 'Удалено'
  };
  var session = null;
  var parentOrigin = document.body.getAttribute('data-parent-origin') || '*';
  var $ = function (id) { return document.getElementById(id); };

  // MoySklad sizes the frame from the `height` we post to the parent window.
  function postHeight() {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ height: document.documentElement.scrollHeight }, parentOrigin);
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(postHeight).observe(document.body);
  }
  window.addEventListener('load', postHeight);

  function notice(text, kind) {
    var box = $('notice');
    box.textContent = text;
    box.className = 'notice ' + kind;
    box.hidden = !text;
    postHeight();
  }

  function api(method, path, body) {
    var headers = { 'Accept': 'application/json' };
    if (session) { headers['Authorization'] = 'Bearer ' + session.sessionToken; }
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || ('Ошибка ' + response.status));
          error.field = data.field;
          throw error;
        }
        return data;
      });
    });
  }
  // The other scripts of the page call /ui/api the same way, with this session.
  window.BonusBridge = { api: api };

  function formatTime(ms) {
    return ms ? new Date(ms).toLocaleString('ru-RU') : '—';
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  var SYNC_STATE_TEXT = { running: 'идёт', done: 'завершена', failed: 'прервана' };
  var syncTimer = null;

  // `queued`: a run is asked for and waits for a worker (it has no progress yet).
  function renderSync(sync, queued) {
    var running = queued || (!!sync && sync.state === 'running');
    var text = sync
      ? ((SYNC_STATE_TEXT[sync.state] || sync.state) + ': ' + sync.percent + ' % · обработано ' +
         sync.processed + ' из ' + sync.total + ', отправлено в БонусПлюс ' + sync.sent +
         (sync.errors ? ', ошибок ' + sync.errors : '') + ' · ' + formatTime(sync.finishedAt || sync.startedAt))
      : 'ещё не выполнялась';
    $('sync').textContent = queued ? 'в очереди…' + (sync ? ' (прошлая — ' + text + ')' : '') : text;
    $('sync-progress').hidden = !running;
    $('sync-progress').value = sync && !queued ? sync.percent : 0;
    var error = sync && sync.state !== 'done' && sync.lastError;
    $('sync-error').textContent = error || '';
    $('sync-error').hidden = !error;
    $('sync-now').disabled = running;
    if (syncTimer) { window.clearTimeout(syncTimer); syncTimer = null; }
    if (running) { syncTimer = window.setTimeout(pollSync, 1500); }
    postHeight();
  }

  function pollSync() {
    syncTimer = null;
    api('GET', '/ui/api/sync').then(function (answer) { renderSync(answer.lastSync, answer.queued); })
      .catch(function (error) { notice(error.message, 'error'); });
  }

  function renderStores(view) {
    var body = $('stores');
    body.textContent = '';
    var map = view.settings.storeMap || {};
    var known = {};
    view.retailStores.forEach(function (store) {
      known[store.id] = true;
      addStoreRow(body, store.id, store.name + (store.archived ? ' (в архиве)' : ''), map[store.id], store.archived);
    });
    // Mappings of points of sale MoySklad no longer lists stay visible (and editable).
    Object.keys(map).forEach(function (id) {
      if (!known[id]) { addStoreRow(body, id, id, map[id], true); }
    });
    var error = $('stores-error');
    error.textContent = view.retailStoresError || '';
    error.hidden = !view.retailStoresError;
  }

  function addStoreRow(body, id, name, value, archived) {
    var row = document.createElement('tr');
    cell(row, name, archived ? 'archived' : '');
    var td = document.createElement('td');
    var input = document.createElement('input');
    input.type = 'text';
    input.maxLength = 100;
    input.className = 'store-input';
    input.setAttribute('data-retail-store', id);
    input.placeholder = 'не сопоставлена';
    input.value = value || '';
    td.appendChild(input);
    row.appendChild(td);
    body.appendChild(row);
  }

  function render(view) {
    $('loading').hidden = true;
    ['state', 'settings', 'calls-card', 'audit-card'].forEach(function (id) { $(id).hidden = false; });
    $('who').textContent = view.account.name + ' · ' + view.user.name + (view.user.admin ? ' (администратор)' : '');
    var status = $('status');
    status.textContent = STATUS_TEXT[view.account.status] || view.account.status;
    status.className = 'status-' + view.account.status;
    $('loyalty-url').textContent = view.loyaltyUrl;
    $('pending').textContent = String(view.backlog.pending);
    $('failed').textContent = String(view.backlog.failed);
    renderSync(view.lastSync, view.syncQueued);
    $('sync-now').hidden = !(view.user.admin && view.account.status === 'Activated');

    var s = view.settings;
    $('bonusplusKey').value = '';
    $('bonusplusKey').placeholder = s.bonusplusKeySet ? '•••••••• ключ сохранён' : 'вставьте ключ из кабинета БонусПлюс';
    $('key-hint').textContent = s.bonusplusKeySet
      ? 'Оставьте пустым, чтобы не менять сохранённый ключ.'
      : 'Ключ проверяется в БонусПлюс перед сохранением.';
    $('defaultStore').value = s.defaultStore;
    $('externalSearch').checked = s.externalSearch;
    $('spendRequiresCode').checked = s.spendRequiresCode;
    $('registerRequiresCode').checked = s.registerRequiresCode;
    $('reserveTtlMinutes').value = String(Math.round(s.reserveTtlSecs / 60));
    $('codeDelivery').value = s.codeDelivery;
    $('codeMessage').value = s.codeMessage;
    $('messageRoute').value = s.messageRoute;
    $('createCustomers').checked = s.createCustomers;
    $('returnWindowDays').value = String(s.returnWindowDays);
    chooseTimeZone(s.utcOffsetMinutes);
    renderStores(view);

    var calls = $('calls');
    calls.textContent = '';
    view.recentCalls.forEach(function (call) {
      var row = document.createElement('tr');
      cell(row, formatTime(call.at));
      cell(row, call.endpoint);
      cell(row, call.status + (call.error ? ' — ' + call.error : ''), call.status >= 400 ? 'error-text' : '');
      calls.appendChild(row);
    });
    if (!view.recentCalls.length) {
      var empty = document.createElement('tr');
      cell(empty, 'Касса ещё не обращалась', 'muted').colSpan = 3;
      calls.appendChild(empty);
    }

    var audit = $('audit');
    audit.textContent = '';
    view.audit.forEach(function (entry) {
      var li = document.createElement('li');
      li.textContent = formatTime(entry.at) + ' · ' + entry.actor + ' · ' + entry.action + (entry.details ? ' (' + entry.details + ')' : '');
      audit.appendChild(li);
    });

    var readOnly = !view.user.admin;
    $('readonly').hidden = !readOnly;
    Array.prototype.forEach.call(document.querySelectorAll('#settings input, #settings select, #settings button'), function (el) {
      el.disabled = readOnly;
    });
    $('rotate').hidden = view.account.status !== 'Activated';
    syncCodeMessage();
    admin = view.user.admin;
    // Before the first save nothing can have happened: the form comes first.
    if (view.account.status === 'SettingsRequired') {
      $('activity-card').hidden = true;
      $('operations-card').hidden = true;
    } else {
      loadActivity();
      loadOperations();
    }
    postHeight();
  }

  // A zone the list does not offer (saved through the API) is added, so the select shows it.
  function chooseTimeZone(minutes) {
    var select = $('utcOffsetMinutes');
    var value = String(minutes);
    var known = Array.prototype.some.call(select.options, function (option) { return option.value === value; });
    if (!known) {
      var option = document.createElement('option');
      option.value = value;
      option.textContent = zoneLabel(minutes);
      select.appendChild(option);
    }
    select.value = value;
  }

  function zoneLabel(minutes) {
    if (!minutes) { return 'UTC'; }
    var sign = minutes > 0 ? '+' : '−';
    var abs = Math.abs(minutes);
    var rest = abs % 60;
    return 'UTC' + sign + Math.floor(abs / 60) + (rest ? ':' + (rest < 10 ? '0' : '') + rest : '');
  }

  // ---- Activity: today and the last 14 days, counted by the server; bars drawn here as SVG. ----
  var SVG = 'http://www.w3.org/2000/svg';
  var METRICS = [
    { key: 'salesBooked', title: 'Продажи проведены в БонусПлюс', format: count },
    { key: 'returnsBooked', title: 'Возвраты проведены', format: count },
    { key: 'bonusesSpentKopecks', title: 'Бонусов списано', format: bonuses },
    { key: 'bonusesEarnedKopecks', title: 'Бонусов начислено', format: bonuses },
    { key: 'customersRegistered', title: 'Покупателей зарегистрировано на кассе', format: count },
    { key: 'deliveriesFailed', title: 'Не доставлено в БонусПлюс', format: count, alarm: true }
  ];

  function count(n) { return group(String(n)); }

  // Whole kopecks → "1 234,50": integer arithmetic only, never a float.
  function bonuses(kopecks) {
    var sign = kopecks < 0 ? '−' : '';
    var abs = Math.abs(kopecks);
    var cents = abs % 100;
    return sign + group(String((abs - cents) / 100)) + ',' + (cents < 10 ? '0' : '') + cents;
  }

  function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0'); }

  function shortDate(date) {
    var parts = String(date).split('-');
    return parts.length === 3 ? parts[2] + '.' + parts[1] : String(date);
  }

  function loadActivity() {
    api('GET', '/ui/api/activity').then(renderActivity)
      .catch(function (error) { notice(error.message, 'error'); });
  }

  function renderActivity(activity) {
    $('activity-card').hidden = false;
    $('activity-zone').textContent = activity.timeZone;
    $('activity-days').textContent = String(activity.windowDays);
    var rows = $('activity-rows');
    rows.textContent = '';
    METRICS.forEach(function (metric) {
      var row = document.createElement('tr');
      row.setAttribute('data-metric', metric.key);
      cell(row, metric.title);
      var today = activity.today[metric.key];
      cell(row, metric.format(today), 'num today' + (metric.alarm && today ? ' error-text' : ''));
      var sum = activity.total[metric.key];
      cell(row, metric.format(sum), 'num total' + (metric.alarm && sum ? ' error-text' : ''));
      var chart = document.createElement('td');
      chart.appendChild(bars(activity.days, metric));
      row.appendChild(chart);
      rows.appendChild(row);
    });
    var days = activity.days;
    $('activity-range').textContent = days.length
      ? 'По дням: с ' + shortDate(days[0].date) + ' по ' + shortDate(days[days.length - 1].date) + ' (последний столбик — сегодня).'
      : '';
    postHeight();
  }

  // One bar per day, scaled to the metric's busiest day; a day with nothing keeps a thin mark.
  function bars(days, metric) {
    var width = 10, gap = 3, height = 28;
    var max = days.reduce(function (m, day) { return Math.max(m, day[metric.key]); }, 0);
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'bars' + (metric.alarm ? ' alarm' : ''));
    svg.setAttribute('width', String(days.length * (width + gap)));
    svg.setAttribute('height', String(height));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', metric.title + ' по дням');
    days.forEach(function (day, index) {
      var value = day[metric.key];
      var h = max > 0 && value > 0 ? Math.max(2, Math.round(value / max * height)) : 1;
      var rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('class', value > 0 ? 'bar' : 'bar zero');
      rect.setAttribute('x', String(index * (width + gap)));
      rect.setAttribute('y', String(height - h));
      rect.setAttribute('width', String(width));
      rect.setAttribute('height', String(h));
      rect.setAttribute('data-date', day.date);
      rect.setAttribute('data-value', String(value));
      var tip = document.createElementNS(SVG, 'title');
      tip.textContent = shortDate(day.date) + ': ' + metric.format(value);
      rect.appendChild(tip);
      svg.appendChild(rect);
    });
    return svg;
  }

  // The text is used only for the app's own codes.
  function syncCodeMessage() {
    var own = !$('codeDelivery').disabled && $('codeDelivery').value === 'own';
    $('codeMessage').disabled = !own;
    $('messageRoute').disabled = !own;
  }
  $('codeDelivery').addEventListener('change', syncCodeMessage);

  // ---- Sales and returns that need the shop: unmatched returns, refused sales, notes. ----
  var admin = false;

  function loadOperations() {
    api('GET', '/ui/api/operations').then(renderOperations)
      .catch(function (error) { notice(error.message, 'error'); });
  }

  function money(sum) { return sum === null || sum === undefined ? '—' : sum + ' ₽'; }

  function title(op) {
    var kind = op.kind === 'sale' ? 'Продажа' : 'Возврат';
    return kind + ' № ' + (op.number || '—') + ' от ' + (op.moment || formatTime(op.recordedAt)) + ', ' + money(op.sum);
  }

  function linesText(op) {
    return op.lines.map(function (l) { return l.product + ' × ' + l.quantity + ' по ' + l.price + ' ₽'; }).join('; ');
  }

  function listInto(id, ops, text, empty) {
    var list = $(id);
    list.textContent = '';
    ops.forEach(function (op) {
      var li = document.createElement('li');
      li.textContent = text(op);
      list.appendChild(li);
    });
    if (!ops.length) {
      var li = document.createElement('li');
      li.className = 'muted';
      li.textContent = empty;
      list.appendChild(li);
    }
  }

  function renderOperations(ops) {
    $('operations-card').hidden = false;
    var box = $('attention');
    box.textContent = '';
    ops.needsAttention.forEach(function (op) { box.appendChild(attentionBlock(op, ops.bookedSales)); });
    if (!ops.needsAttention.length) {
      var none = document.createElement('p');
      none.className = 'muted';
      none.textContent = 'Нет';
      box.appendChild(none);
    }
    var failed = $('failed-list');
    failed.textContent = '';
    ops.failed.forEach(function (op) { failed.appendChild(failedBlock(op)); });
    if (!ops.failed.length) {
      var nothing = document.createElement('p');
      nothing.className = 'muted';
      nothing.textContent = 'Нет';
      failed.appendChild(nothing);
    }
    listInto('noted', ops.noted, function (op) { return title(op) + ' — ' + op.notes; }, 'Нет');
    var waiting = ops.failed.length + ops.needsAttention.length;
    $('attention-count').textContent = String(waiting);
    $('attention-count').hidden = !waiting;
    postHeight();
  }

  // A delivery BonusPlus refused: why, what to do, and (administrators) the retry button.
  function failedBlock(op) {
    var block = document.createElement('div');
    block.className = 'attention failed-op';
    block.setAttribute('data-operation', op.id);
    var head = document.createElement('div');
    head.className = 'op-title';
    head.textContent = title(op);
    block.appendChild(head);
    var reason = document.createElement('div');
    reason.className = 'error-text reason';
    reason.textContent = 'Причина: ' + (op.reason || 'не записана');
    block.appendChild(reason);
    if (op.whatToDo) {
      var todo = document.createElement('div');
      todo.className = 'todo';
      todo.textContent = 'Что сделать: ' + op.whatToDo;
      block.appendChild(todo);
    }
    if (!admin) { return block; }
    var retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'primary retry';
    retry.textContent = 'Повторить';
    retry.addEventListener('click', function () {
      retry.disabled = true;
      api('POST', '/ui/api/operations/' + encodeURIComponent(op.id) + '/retry').then(function (answer) {
        renderOperations(answer);
        loadActivity();
        var again = answer.failed.some(function (other) { return other.id === op.id; });
        notice(again
          ? 'БонусПлюс снова не провёл операцию: причина указана в разделе «Требуют внимания».'
          : 'Операция отправлена в БонусПлюс повторно.', again ? 'error' : 'ok');
      }).catch(function (error) { retry.disabled = false; notice(error.message, 'error'); });
    });
    block.appendChild(retry);
    return block;
  }

  function attentionBlock(op, sales) {
    var block = document.createElement('div');
    block.className = 'attention';
    block.setAttribute('data-return', op.id);
    var head = document.createElement('div');
    head.textContent = title(op) + ': ' + linesText(op);
    block.appendChild(head);
    if (!admin) { return block; }
    var select = document.createElement('select');
    select.className = 'match-sale';
    sales.forEach(function (sale) {
      var option = document.createElement('option');
      option.value = sale.id;
      option.textContent = title(sale) + ' — ' + linesText(sale);
      select.appendChild(option);
    });
    block.appendChild(select);
    var match = document.createElement('button');
    match.type = 'button';
    match.className = 'primary match';
    match.textContent = 'Сопоставить';
    match.disabled = !sales.length;
    match.addEventListener('click', function () {
      match.disabled = true;
      api('POST', '/ui/api/returns/' + encodeURIComponent(op.id) + '/match', { saleId: select.value })
        .then(function (answer) {
          renderOperations(answer);
          loadActivity();
          notice('Возврат сопоставлен с продажей: бонусы скорректированы.', 'ok');
        }).catch(function (error) { match.disabled = false; notice(error.message, 'error'); });
    });
    block.appendChild(match);
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'secondary';
    close.textContent = 'Закрыть без списания';
    close.addEventListener('click', function () {
      if (!window.confirm('Закрыть возврат, не корректируя бонусы?')) { return; }
      api('POST', '/ui/api/returns/' + encodeURIComponent(op.id) + '/close')
        .then(renderOperations).catch(function (error) { notice(error.message, 'error'); });
    });
    block.appendChild(close);
    return block;
  }

  function collect() {
    var map = {};
    Array.prototype.forEach.call(document.querySelectorAll('.store-input'), function (input) {
      var value = input.value.trim();
      if (value) { map[input.getAttribute('data-retail-store')] = value; }
    });
    var minutes = parseInt($('reserveTtlMinutes').value, 10);
    var body = {
      defaultStore: $('defaultStore').value.trim(),
      storeMap: map,
      externalSearch: $('externalSearch').checked,
      spendRequiresCode: $('spendRequiresCode').checked,
      registerRequiresCode: $('registerRequiresCode').checked,
      reserveTtlSecs: isNaN(minutes) ? 0 : minutes * 60,
      codeDelivery: $('codeDelivery').value,
      codeMessage: $('codeMessage').value.trim(),
      messageRoute: $('messageRoute').value,
      createCustomers: $('createCustomers').checked,
      returnWindowDays: parseInt($('returnWindowDays').value, 10) || 0,
      utcOffsetMinutes: parseInt($('utcOffsetMinutes').value, 10)
    };
    var key = $('bonusplusKey').value.trim();
    if (key) { body.bonusplusKey = key; }
    return body;
  }

  // `message` names refused stores as «…»: their inputs are marked.
  function markInvalid(field, message) {
    Array.prototype.forEach.call(document.querySelectorAll('.invalid'), function (el) { el.classList.remove('invalid'); });
    if (field === 'stores') {
      Array.prototype.forEach.call(document.querySelectorAll('.store-input, #defaultStore'), function (input) {
        var value = input.value.trim();
        if (value && message.indexOf('«' + value + '»') >= 0) { input.classList.add('invalid'); }
      });
      return;
    }
    var id = field === 'reserveTtlSecs' ? 'reserveTtlMinutes' : field;
    var input = id && $(id);
    if (input) { input.classList.add('invalid'); input.focus(); }
  }

  function busy(on) {
    $('save').disabled = on;
    $('rotate').disabled = on;
  }

  $('settings').addEventListener('submit', function (event) {
    event.preventDefault();
    busy(true);
    notice('', 'ok');
    api('PUT', '/ui/api/settings', collect()).then(function (view) {
      markInvalid(null);
      render(view);
      notice('Настройки сохранены. Касса получает бонусы через БонусПлюс.', 'ok');
    }).catch(function (error) {
      markInvalid(error.field, error.message);
      notice(error.message, 'error');
    }).then(function () { busy(false); });
  });

  $('rotate').addEventListener('click', function () {
    if (!window.confirm('Выдать новый токен? Старый перестанет работать, как только МойСклад подтвердит новый.')) { return; }
    busy(true);
    api('POST', '/ui/api/token/rotate').then(function (view) {
      render(view);
      notice('Новый токен выдан и передан в МойСклад.', 'ok');
    }).catch(function (error) {
      notice(error.message, 'error');
    }).then(function () { busy(false); });
  });

  $('sync-now').addEventListener('click', function () {
    $('sync-now').disabled = true;
    api('POST', '/ui/api/sync').then(function (answer) {
      notice(answer.started ? 'Синхронизация товаров запущена.' : 'Синхронизация уже идёт.', 'ok');
      renderSync(answer.lastSync, answer.queued);
    }).catch(function (error) {
      $('sync-now').disabled = false;
      notice(error.message, 'error');
    });
  });

  var contextKey = new URLSearchParams(window.location.search).get('contextKey');
  if (!contextKey) {
    $('loading').hidden = true;
    notice('Откройте приложение из МоегоСклада: в адресе нет ключа контекста.', 'error');
    return;
  }
  // The key is single-use: drop it from the address so a reload does not replay it.
  window.history.replaceState(null, '', window.location.pathname);
  api('POST', '/ui/api/session', { contextKey: contextKey }).then(function (opened) {
    session = opened;
    document.dispatchEvent(new CustomEvent('bonusbridge:session', { detail: opened }));
    return api('GET', '/ui/api/settings');
  }).then(render).catch(function (error) {
    $('loading').hidden = true;
    notice(error.message, 'error');
  });
})();
