// The demo till: plays MoySklad's POS ("Касса МойСклад") against the bridge's real LoyaltyAPI on the
// same origin, with the account's token as MoySklad received it (from /demo/api/till). Every call is
// shown with its request and answer; the customer's balance is read from the BonusPlus emulator
// before and after each step. Money stays exact: numbers in answers are read as text, never as
// binary floats, and sums are computed in BigInt kopecks. No inline scripts (CSP 'self').
(function () {
  'use strict';

  var MS = 'https://api.moysklad.ru/api/remap/1.2/entity/';
  var $ = function (id) { return document.getElementById(id); };

  var till = null;        // {token, retailStores, products}
  var products = {};      // id → product
  var customer = null;    // the chosen search row (exact)
  var lines = [];         // [{productId, quantity}] before the recalc
  var recalced = null;    // the last recalc answer (exact) while the receipt is unchanged
  var giftcard = null;    // the last certificate looked up (exact)
  var verified = false;   // a spending code confirmed (when the answer asked for one)
  var sold = null;        // {body, returned: [quantity text per position]}
  var receiptNumber = 0;

  // ---------- exact numbers ----------

  // A JSON number written exactly as given.
  function Num(text) { this.text = String(text); }

  function toJson(value) {
    if (value instanceof Num) { return value.text; }
    if (value === null) { return 'null'; }
    if (Array.isArray(value)) { return '[' + value.map(toJson).join(',') + ']'; }
    if (typeof value === 'object') {
      return '{' + Object.keys(value).filter(function (key) { return value[key] !== undefined; })
        .map(function (key) { return JSON.stringify(key) + ':' + toJson(value[key]); }).join(',') + '}';
    }
    return JSON.stringify(value);
  }

  // Index just past the string literal starting at `i` (a quote).
  function stringEnd(text, i) {
    var j = i + 1;
    while (j < text.length && text[j] !== '"') { j += text[j] === '\\' ? 2 : 1; }
    return j + 1;
  }

  // JSON text → value whose numbers are their exact text (strings).
  function parseExact(text) {
    var out = '';
    var number = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    for (var i = 0; i < text.length;) {
      var c = text[i];
      if (c === '"') {
        var end = stringEnd(text, i);
        out += text.slice(i, end);
        i = end;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        number.lastIndex = i;
        var match = number.exec(text);
        if (!match) { throw new Error('bad number'); }
        out += '"' + match[0] + '"';
        i += match[0].length;
      } else {
        out += c;
        i += 1;
      }
    }
    return JSON.parse(out);
  }

  // Indents JSON text without re-reading its numbers (what was sent is what is shown).
  function pretty(text) {
    var out = '';
    var depth = 0;
    var newline = function () { out += '\n' + '  '.repeat(Math.max(depth, 0)); };
    for (var i = 0; i < text.length;) {
      var c = text[i];
      if (c === '"') {
        var end = stringEnd(text, i);
        out += text.slice(i, end);
        i = end;
        continue;
      }
      if (c === '{' || c === '[') {
        var close = c === '{' ? '}' : ']';
        var k = i + 1;
        while (k < text.length && /\s/.test(text[k])) { k += 1; }
        if (text[k] === close) { out += c + close; i = k + 1; continue; }
        depth += 1;
        out += c;
        newline();
      } else if (c === '}' || c === ']') {
        depth -= 1;
        newline();
        out += c;
      } else if (c === ',') {
        out += ',';
        newline();
      } else if (c === ':') {
        out += ': ';
      } else if (!/\s/.test(c)) {
        out += c;
      }
      i += 1;
    }
    return out;
  }

  // "12.5" → 1250n at scale 2; refuses more decimals than `scale` unless they are zeros.
  function units(text, scale) {
    var match = /^(-?)(\d+)(?:[.,](\d+))?$/.exec(String(text).trim());
    if (!match) { throw new Error('не число: ' + text); }
    var fraction = match[3] || '';
    if (fraction.length > scale && /[^0]/.test(fraction.slice(scale))) {
      throw new Error('слишком много знаков после запятой: ' + text);
    }
    fraction = (fraction + '0'.repeat(scale)).slice(0, scale);
    var value = BigInt(match[2] + fraction);
    return match[1] ? -value : value;
  }

  function formatUnits(value, scale) {
    var negative = value < BigInt(0);
    var digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
    var text = scale ? digits.slice(0, -scale) + '.' + digits.slice(-scale) : digits;
    return (negative ? '-' : '') + text;
  }

  // Roubles with two decimals, for display; the text itself when it is not a plain number.
  function money(text) {
    try { return formatUnits(units(text, 2), 2); } catch (error) { return String(text); }
  }

  // price × quantity in kopecks, half up (both non-negative).
  function lineKopecks(price, quantity) {
    return (units(price, 2) * units(quantity, 3) + BigInt(500)) / BigInt(1000);
  }

  function quantityText(text) {
    return formatUnits(units(text, 3), 3).replace(/\.?0+$/, '');
  }

  // ---------- calls ----------

  function notice(text, kind) {
    var box = $('notice');
    box.textContent = text;
    box.className = 'notice ' + kind;
    box.hidden = !text;
  }

  function demoApi(path) {
    return fetch(path, { headers: { Accept: 'application/json' }, credentials: 'omit', cache: 'no-store' })
      .then(function (response) {
        return response.text().then(function (text) {
          return { ok: response.ok, data: text ? parseExact(text) : null };
        });
      });
  }

  // One LoyaltyAPI call as MoySklad makes it; logged with its request and answer.
  function loyalty(method, path, body) {
    var request = body === undefined ? '' : toJson(body);
    var started = performance.now();
    return fetch('/loyalty' + path, {
      method: method,
      headers: {
        'Accept': 'application/json',
        'Content-Type': 'application/json',
        'Lognex-Discount-API-Auth-Token': till.token
      },
      body: request || undefined,
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      return response.text().then(function (text) {
        logCall(method, path, request, response.status, text, performance.now() - started);
        var data = null;
        try { data = text ? parseExact(text) : null; } catch (error) { data = null; }
        if (!response.ok) {
          var first = data && data.errors && data.errors[0];
          var failure = new Error(first ? first.error + (first.error_message ? ' (' + first.error_message + ')' : '')
            : 'Ошибка ' + response.status);
          failure.status = response.status;
          failure.code = first && first.code;
          throw failure;
        }
        return data;
      });
    });
  }

  function logCall(method, path, request, status, answer, ms) {
    var item = document.createElement('li');
    item.className = 'call';
    var head = document.createElement('div');
    head.className = 'call-head';
    [['method', method], ['mono', '/loyalty' + path], ['muted', Math.round(ms) + ' мс'],
      ['status ' + (status < 300 ? 'ok' : 'fail'), String(status)]].forEach(function (part) {
      var span = document.createElement('span');
      span.className = part[0];
      span.textContent = part[1];
      head.appendChild(span);
    });
    item.appendChild(head);
    if (request) { item.appendChild(block('Запрос', pretty(request))); }
    item.appendChild(block('Ответ', answer ? pretty(answer) : '(пустой ответ)'));
    var log = $('log');
    Array.prototype.forEach.call(log.querySelectorAll('details'), function (details) { details.open = false; });
    log.insertBefore(item, log.firstChild);
    while (log.children.length > 40) { log.removeChild(log.lastChild); }
  }

  function block(title, text) {
    var details = document.createElement('details');
    details.open = true;
    var summary = document.createElement('summary');
    summary.textContent = title;
    var pre = document.createElement('pre');
    pre.textContent = text;
    details.appendChild(summary);
    details.appendChild(pre);
    return details;
  }

  // ---------- what the till sends ----------

  function retailStore() {
    var id = $('retailStore').value;
    var store = till.retailStores.filter(function (s) { return s.id === id; })[0];
    return { meta: { href: MS + 'retailstore/' + id, id: id }, name: store ? store.name : undefined };
  }

  // MoySklad's counterparty for the chosen row: its own id once linked, else the row's GUID.
  function agentId() { return customer.msId || customer.id; }

  function agent() {
    return {
      meta: { href: MS + 'counterparty/' + agentId(), id: agentId() },
      name: customer.name,
      phone: customer.phone,
      discountCardNumber: customer.discountCardNumber
    };
  }

  function assortment(productId) {
    return { meta: { href: MS + 'product/' + productId, id: productId, idType: 'native', type: 'product' } };
  }

  function moment() {
    var now = new Date();
    var two = function (n) { return String(n).padStart(2, '0'); };
    return now.getFullYear() + '-' + two(now.getMonth() + 1) + '-' + two(now.getDate()) + ' ' +
      two(now.getHours()) + ':' + two(now.getMinutes()) + ':' + two(now.getSeconds());
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  // ---------- start ----------

  function loadTill() {
    demoApi('/demo/api/till').then(function (answer) {
      if (!answer.ok || !answer.data.token) {
        $('waiting').hidden = false;
        window.setTimeout(loadTill, 2000);
        return;
      }
      till = answer.data;
      $('waiting').hidden = true;
      $('till').hidden = false;
      fillSelects();
    }).catch(function (error) {
      notice(error.message, 'error');
      window.setTimeout(loadTill, 2000);
    });
  }

  function fillSelects() {
    var stores = $('retailStore');
    stores.textContent = '';
    till.retailStores.forEach(function (store) { stores.appendChild(option(store.id, store.name)); });
    var select = $('product');
    select.textContent = '';
    till.products.forEach(function (product) {
      products[product.id] = product;
      select.appendChild(option(product.id, product.name + ' — ' + money(product.price) + ' ₽' +
        (product.weighed ? ' за кг' : '')));
    });
    productChanged();
  }

  function option(value, text) {
    var element = document.createElement('option');
    element.value = value;
    element.textContent = text;
    return element;
  }

  function productChanged() {
    var product = products[$('product').value];
    $('uom').textContent = product && product.weighed ? 'кг' : 'шт';
    $('quantity').value = product && product.weighed ? '0.5' : '1';
  }

  // ---------- customer ----------

  function search(event) {
    event.preventDefault();
    var text = $('search').value.trim();
    if (!text) { return; }
    notice('', 'ok');
    var path = '/counterparty?search=' + encodeURIComponent(text) + '&retailStoreId=' + encodeURIComponent($('retailStore').value);
    loyalty('GET', path).then(function (answer) {
      showFound(answer.rows || [], text);
    }).catch(function (error) { notice(error.message, 'error'); });
  }

  function showFound(rows, text) {
    var list = $('found');
    list.textContent = '';
    rows.forEach(function (row) {
      var item = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'found-row';
      button.textContent = row.name + ' · ' + (row.phone || 'без телефона') +
        (row.discountCardNumber ? ' · карта ' + row.discountCardNumber : '');
      button.addEventListener('click', function () { choose(row); });
      item.appendChild(button);
      list.appendChild(item);
    });
    if (!rows.length) {
      var phoneLike = /^[\d\s()+-]{10,}$/.test(text);
      var none = document.createElement('li');
      none.className = 'muted';
      none.textContent = 'Никого не нашли. Можно зарегистрировать нового покупателя' +
        (phoneLike ? ' или пробить чек на этот телефон как есть.' : '.');
      list.appendChild(none);
      if (phoneLike) { list.appendChild(unregisteredChoice(text)); }
      $('register').hidden = false;
      $('register-phone').value = phoneLike ? text : '';
      $('register-name').value = phoneLike ? '' : text;
    }
  }

  // A counterparty the till knows only by phone (made in MoySklad, not in BonusPlus): its receipt
  // asks the loyalty system to register the customer at checkout.
  function unregisteredChoice(phone) {
    var item = document.createElement('li');
    var button = document.createElement('button');
    button.type = 'button';
    button.id = 'use-phone';
    button.className = 'found-row';
    button.textContent = 'Пробить чек на ' + phone + ' (нет в БонусПлюс)';
    var id = uuid();
    button.addEventListener('click', function () {
      choose({ id: id, msId: id, name: 'Покупатель ' + phone, phone: phone, unregistered: true });
    });
    item.appendChild(button);
    return item;
  }

  function choose(row) {
    customer = row;
    $('found').textContent = '';
    $('register').hidden = true;
    $('customer').hidden = false;
    $('customer-name').textContent = row.name;
    $('customer-phone').textContent = row.phone || '';
    $('customer-card-number').textContent = row.discountCardNumber ? 'карта ' + row.discountCardNumber : '';
    $('balance-history').textContent = '';
    $('ms-balance').textContent = '…';
    receiptChanged();
    refreshBalance('Покупатель выбран');
    if (row.unregistered) { $('ms-balance').textContent = '—'; return; }
    loyalty('POST', '/counterparty/detail', {
      retailStore: retailStore(),
      meta: { href: MS + 'counterparty/' + agentId(), id: agentId() },
      phone: row.phone
    }).then(function (answer) {
      $('ms-balance').textContent = money(answer.bonusProgram.agentBonusBalance);
    }).catch(function (error) {
      $('ms-balance').textContent = '—';
      notice(error.message, 'error');
    });
  }

  // Reads the customer's state in the emulator and notes it under `step`.
  // The customer as the emulator showed them last (JSON text), to see when a sale is booked.
  var lastSeen = null;

  // The till is answered once the sale (or return) is recorded; BonusPlus books it right after.
  // Asks the emulator until what it holds for the customer shows the booking (at most ~3 s), then
  // shows it. `booked(answer)` says whether it does; by default, any change. A sale's delivery first
  // releases the reserve — a change, but not yet the sale — so a sale waits for one more sale.
  function refreshAfterBooking(step, booked) {
    if (!customer || !customer.phone) { return Promise.resolve(); }
    var before = lastSeen;
    var answered = Date.now();
    function ask(attempt) {
      return customerState().then(function (answer) {
        var seen = JSON.stringify(answer);
        var shows = seen !== before && (!booked || booked(answer));
        if (!shows && attempt < 60) {
          return new Promise(function (resolve) { setTimeout(resolve, 50); })
            .then(function () { return ask(attempt + 1); });
        }
        var note = shows ? ' (БонусПлюс провёл через ' + (Date.now() - answered) + ' мс после ответа кассе)'
          : ' (БонусПлюс ничего не изменил)';
        return showCustomer(step + note, answer);
      });
    }
    return ask(0);
  }

  function customerState() {
    return demoApi('/demo/api/bonusplus/customer?phone=' + encodeURIComponent(customer.phone));
  }

  // How many sales BonusPlus holds for the customer in a seen answer (0 when none or not a member).
  function salesIn(seen) {
    var answer = seen ? JSON.parse(seen) : null;
    return answer && answer.ok ? answer.data.sales.length : 0;
  }

  function refreshBalance(step) {
    if (!customer || !customer.phone) { return Promise.resolve(); }
    return customerState().then(function (answer) { showCustomer(step, answer); });
  }

  function showCustomer(step, answer) {
    lastSeen = JSON.stringify(answer);
    var item = document.createElement('li');
    $('balance-history').appendChild(item);
    if (!answer.ok) {
      $('bp-balance').textContent = 'нет в БонусПлюс';
      $('bp-reserved').textContent = '—';
      item.textContent = step + ': покупателя нет в БонусПлюс';
      return;
    }
    var state = answer.data;
    $('bp-balance').textContent = money(state.balance);
    $('bp-reserved').textContent = money(state.reserved);
    item.textContent = step + ': баланс ' + money(state.balance) + ', в резерве ' + money(state.reserved);
    showSales(state.sales);
    var lastMessage = state.messages[state.messages.length - 1];
    $('register-hint').textContent = lastMessage ? 'SMS покупателю: «' + lastMessage + '»' : '';
  }

  // What BonusPlus booked for the customer: spent and earned per sale, and what returns reversed.
  function showSales(sales) {
    var list = $('bp-sales');
    list.textContent = '';
    sales.forEach(function (sale) {
      var item = document.createElement('li');
      item.textContent = 'Продажа ' + sale.id + ' (' + sale.store + '): списано ' + money(sale.bonusDebit) +
        ', начислено ' + money(sale.earned) +
        (/[1-9]/.test(sale.returnedEarned + sale.returnedDebit)
          ? '; возвратом отменено начисление ' + money(sale.returnedEarned) + ' и списание ' + money(sale.returnedDebit)
          : '');
      list.appendChild(item);
    });
    if (!sales.length) {
      var none = document.createElement('li');
      none.className = 'muted';
      none.textContent = 'пока нет';
      list.appendChild(none);
    }
  }

  function register(event, statusCheck) {
    if (event) { event.preventDefault(); }
    var phone = $('register-phone').value.trim();
    // The till creates the counterparty in MoySklad first: its id comes with the registration
    // (the same one when the registration is repeated with a code).
    var id = $('register').dataset.counterparty || uuid();
    $('register').dataset.counterparty = id;
    var body = {
      retailStore: retailStore(),
      meta: { href: MS + 'counterparty/' + id, id: id },
      name: $('register-name').value.trim(),
      phone: phone,
      statusCheck: statusCheck || 'UNCHECKED'
    };
    loyalty('POST', '/counterparty', body).then(function () {
      delete $('register').dataset.counterparty;
      $('register-code').hidden = true;
      $('search').value = phone;
      notice('Покупатель зарегистрирован в БонусПлюс', 'ok');
      return loyalty('GET', '/counterparty?search=' + encodeURIComponent(phone) + '&retailStoreId=' + encodeURIComponent($('retailStore').value));
    }).then(function (answer) {
      if (answer && answer.rows && answer.rows.length) { choose(answer.rows[0]); }
    }).catch(function (error) {
      if (error.code === '28001') { return askRegistrationCode(phone, body.name); }
      notice(error.message, 'error');
    });
  }

  // Registration must be confirmed: the till asks for a code and compares what the customer says.
  function askRegistrationCode(phone, name) {
    return loyalty('POST', '/counterparty/verify', {
      retailStore: retailStore(),
      meta: { href: 'https://api.moysklad.ru/api/posap/1.0/entity/counterparty/syncid/' + uuid() },
      phone: phone,
      name: name
    }).then(function (answer) {
      $('register-code').hidden = false;
      $('register-code').dataset.code = answer.verificationCode;
      notice(answer.messageForCashier || 'Покупателю отправлен код подтверждения', 'ok');
    }).catch(function (error) { notice(error.message, 'error'); });
  }

  function confirmRegistration() {
    if ($('register-code-input').value.trim() !== $('register-code').dataset.code) {
      notice('Код не совпадает', 'error');
      return;
    }
    register(null, 'CHECKED');
  }

  // ---------- receipt ----------

  function addLine(event) {
    event.preventDefault();
    var product = products[$('product').value];
    var quantity = $('quantity').value.trim().replace(',', '.');
    try {
      var thousandths = units(quantity, 3);
      if (thousandths <= BigInt(0)) { throw new Error('Количество должно быть больше нуля'); }
      if (!product.weighed && thousandths % BigInt(1000) !== BigInt(0)) {
        throw new Error('Штучный товар продаётся целыми штуками');
      }
    } catch (error) {
      notice(error.message, 'error');
      return;
    }
    var same = lines.filter(function (line) { return line.productId === product.id; })[0];
    if (same) {
      same.quantity = formatUnits(units(same.quantity, 3) + units(quantity, 3), 3);
    } else {
      lines.push({ productId: product.id, quantity: formatUnits(units(quantity, 3), 3) });
    }
    notice('', 'ok');
    receiptChanged();
  }

  function receiptChanged() {
    recalced = null;
    verified = false;
    $('bonus').hidden = true;
    $('spend-verify').hidden = true;
    renderLines();
  }

  // The receipt as the till shows it: the lines typed, or, after a recalc, the answer's lines.
  function renderLines() {
    var body = $('lines');
    body.textContent = '';
    var total = BigInt(0);
    var rows = recalced ? recalced.positions.map(function (position) {
      return {
        productId: position.assortment.meta.id, quantity: position.quantity, price: position.price,
        discountPercent: position.discountPercent, discountedPrice: position.discountedPrice
      };
    }) : lines.map(function (line) {
      return { productId: line.productId, quantity: line.quantity, price: products[line.productId].price };
    });
    rows.forEach(function (row, index) {
      var paid = row.discountedPrice !== undefined ? row.discountedPrice : row.price;
      var sum = lineKopecks(paid, row.quantity);
      total += sum;
      var tr = document.createElement('tr');
      var product = products[row.productId];
      cell(tr, product ? product.name : row.productId);
      cell(tr, quantityText(row.quantity) + (product && product.weighed ? ' кг' : ''));
      cell(tr, money(row.price));
      cell(tr, row.discountPercent !== undefined ? quantityText(row.discountPercent) + ' %' : '—');
      cell(tr, row.discountedPrice !== undefined ? money(row.discountedPrice) : '—',
        row.discountedPrice !== undefined && row.discountedPrice !== row.price ? 'discounted' : '');
      cell(tr, formatUnits(sum, 2));
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.textContent = '×';
      remove.title = 'Убрать';
      remove.hidden = !!recalced || !!sold;
      remove.addEventListener('click', function () { lines.splice(index, 1); receiptChanged(); });
      tr.appendChild(document.createElement('td')).appendChild(remove);
      body.appendChild(tr);
    });
    $('total').textContent = formatUnits(total, 2);
    $('sell').disabled = !recalced || !!sold || (recalced.needVerification === true && !verified);
    $('recalc').disabled = !!sold;
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function mode() { return $('mode-spending').checked ? 'SPENDING' : 'EARNING'; }

  function recalc() {
    if (!customer) { notice('Сначала найдите покупателя', 'error'); return; }
    if (!lines.length) { notice('Добавьте товары в чек', 'error'); return; }
    var body = {
      retailStore: retailStore(),
      agent: agent(),
      positions: lines.map(function (line) {
        return { assortment: assortment(line.productId), quantity: new Num(line.quantity), price: new Num(products[line.productId].price) };
      }),
      bonusProgram: { transactionType: mode() }
    };
    var preferred = $('preferred').value.trim().replace(',', '.');
    if (mode() === 'SPENDING' && preferred) {
      try { units(preferred, 2); } catch (error) { notice(error.message, 'error'); return; }
      body.preferredBonusToSpend = new Num(preferred);
    }
    notice('', 'ok');
    loyalty('POST', '/retaildemand/recalc', body).then(function (answer) {
      recalced = answer;
      verified = false;
      showBonus(answer.bonusProgram || {});
      $('spend-verify').hidden = answer.needVerification !== true;
      renderLines();
      // A spending recalc reserves the bonuses in BonusPlus just after answering.
      window.setTimeout(function () { refreshBalance('После пересчёта (' + (mode() === 'SPENDING' ? 'списание' : 'начисление') + ')'); }, 400);
    }).catch(function (error) { notice(error.message, 'error'); });
  }

  function showBonus(bonus) {
    $('bonus').hidden = false;
    $('balance-before').textContent = money(bonus.agentBonusBalance);
    $('to-spend').textContent = money(bonus.bonusValueToSpend);
    $('paid-by-bonus').textContent = money(bonus.paidByBonusPoints);
    $('to-earn').textContent = money(bonus.bonusValueToEarn);
    $('balance-after').textContent = money(bonus.agentBonusBalanceAfter);
    $('extra-info').textContent = bonus.receiptExtraInfo || '—';
  }

  function requestSpendCode() {
    loyalty('POST', '/retaildemand/verify', { retailStore: retailStore(), counterpartyId: agentId(), phone: customer.phone })
      .then(function (answer) {
        $('spend-verify').dataset.code = answer.verificationCode;
        notice(answer.messageForCashier || 'Покупателю отправлен код', 'ok');
        return refreshBalance('Код отправлен');
      }).catch(function (error) { notice(error.message, 'error'); });
  }

  function confirmSpendCode() {
    verified = $('spend-code-input').value.trim() === $('spend-verify').dataset.code;
    notice(verified ? 'Код подтверждён' : 'Код не совпадает', verified ? 'ok' : 'error');
    renderLines();
  }

  // ---------- gift certificate ----------

  function checkGiftcard() {
    var name = $('giftcard-name').value.trim();
    if (!name) { return; }
    loyalty('GET', '/giftcard?name=' + encodeURIComponent(name) + '&retailStoreId=' + encodeURIComponent($('retailStore').value))
      .then(function (answer) {
        giftcard = answer;
        $('giftcard').hidden = false;
        var balance = answer.currentBalance !== undefined ? formatUnits(units(answer.currentBalance, 0), 2) + ' ₽' : '—';
        $('giftcard-info').textContent = answer.name + ': ' + answer.status + ', остаток ' + balance;
      }).catch(function (error) {
        giftcard = null;
        $('giftcard').hidden = true;
        notice(error.message, 'error');
      });
  }

  // The certificate part of the payment in kopecks (MoySklad sends gift cards in kopecks).
  function giftcardKopecks() {
    var text = $('giftcard-pay').value.trim().replace(',', '.');
    return giftcard && text ? units(text, 2) : BigInt(0);
  }

  // ---------- sale and return ----------

  function saleTotal(positions) {
    return positions.reduce(function (sum, p) { return sum + lineKopecks(p.discountedPrice, p.quantity); }, BigInt(0));
  }

  function sell() {
    var bonus = recalced.bonusProgram || {};
    var certificate;
    try { certificate = giftcardKopecks(); } catch (error) { notice(error.message, 'error'); return; }
    var total = saleTotal(recalced.positions);
    if (certificate > total) { notice('Сертификатом нельзя оплатить больше суммы чека', 'error'); return; }
    receiptNumber += 1;
    var id = uuid();
    var body = {
      retailStore: retailStore(),
      meta: { href: MS + 'retaildemand/' + id, id: id },
      name: String(receiptNumber).padStart(5, '0'),
      moment: moment(),
      agent: agent(),
      positions: recalced.positions.map(function (p) {
        return {
          assortment: p.assortment, quantity: new Num(p.quantity), price: new Num(p.price),
          discountPercent: new Num(p.discountPercent), discountedPrice: new Num(p.discountedPrice)
        };
      }),
      bonusProgram: {
        bonusValueToSpend: new Num(bonus.bonusValueToSpend || '0'),
        bonusValueToEarn: new Num(bonus.bonusValueToEarn || '0')
      },
      cashSum: new Num(formatUnits(total - certificate, 2)),
      noCashSum: new Num('0')
    };
    if (certificate > BigInt(0)) {
      body.giftCards = [{ id: giftcard.id, name: giftcard.name, paymentSum: new Num(certificate.toString()) }];
    }
    loyalty('POST', '/retaildemand', body).then(function () {
      sold = { body: body, returned: body.positions.map(function () { return BigInt(0); }) };
      notice('Продажа ' + body.name + ' проведена', 'ok');
      renderLines();
      showReturn();
      var salesBefore = salesIn(lastSeen);
      return refreshAfterBooking('После продажи ' + body.name, function (answer) {
        return salesIn(JSON.stringify(answer)) > salesBefore;
      });
    }).catch(function (error) {
      receiptNumber -= 1;
      notice(error.message, 'error');
    });
  }

  function showReturn() {
    $('return-card').hidden = false;
    $('return-sale').textContent = sold.body.name;
    var body = $('return-lines');
    body.textContent = '';
    sold.body.positions.forEach(function (position, index) {
      var left = units(position.quantity.text, 3) - sold.returned[index];
      var tr = document.createElement('tr');
      var product = products[position.assortment.meta.id];
      cell(tr, product ? product.name : position.assortment.meta.id);
      cell(tr, quantityText(position.quantity.text) + (left < units(position.quantity.text, 3) ? ' (осталось ' + quantityText(formatUnits(left, 3)) + ')' : ''));
      cell(tr, money(position.discountedPrice.text));
      var input = document.createElement('input');
      input.type = 'text';
      input.inputMode = 'decimal';
      input.value = '0';
      input.dataset.returnIndex = String(index);
      input.disabled = left <= BigInt(0);
      tr.appendChild(document.createElement('td')).appendChild(input);
      body.appendChild(tr);
    });
  }

  function returnGoods() {
    var positions = [];
    var taken = [];
    try {
      Array.prototype.forEach.call(document.querySelectorAll('input[data-return-index]'), function (input) {
        var index = Number(input.dataset.returnIndex);
        var quantity = units(input.value.trim().replace(',', '.') || '0', 3);
        if (quantity <= BigInt(0)) { return; }
        var position = sold.body.positions[index];
        if (quantity > units(position.quantity.text, 3) - sold.returned[index]) {
          throw new Error('Нельзя вернуть больше, чем продано');
        }
        taken.push([index, quantity]);
        positions.push({
          assortment: position.assortment, quantity: new Num(formatUnits(quantity, 3)), price: position.price,
          discountPercent: position.discountPercent, discountedPrice: position.discountedPrice
        });
      });
    } catch (error) { notice(error.message, 'error'); return; }
    if (!positions.length) { notice('Укажите, что возвращается', 'error'); return; }
    var cash = positions.reduce(function (sum, p) { return sum + lineKopecks(p.discountedPrice.text, p.quantity.text); }, BigInt(0));
    var id = uuid();
    var body = {
      retailStore: sold.body.retailStore,
      meta: { href: MS + 'retailsalesreturn/' + id, id: id },
      name: 'В-' + sold.body.name,
      moment: moment(),
      demand: { meta: { href: sold.body.meta.href, id: sold.body.meta.id } },
      agent: { id: sold.body.agent.meta.id, href: sold.body.agent.meta.href },
      positions: positions,
      cashSum: new Num(formatUnits(cash, 2)),
      noCashSum: new Num('0')
    };
    loyalty('POST', '/retailsalesreturn', body).then(function () {
      taken.forEach(function (pair) { sold.returned[pair[0]] += pair[1]; });
      notice('Возврат по продаже ' + sold.body.name + ' проведён', 'ok');
      showReturn();
      return refreshAfterBooking('После возврата');
    }).catch(function (error) { notice(error.message, 'error'); });
  }

  function newReceipt() {
    lines = [];
    sold = null;
    giftcard = null;
    $('giftcard').hidden = true;
    $('giftcard-pay').value = '';
    $('return-card').hidden = true;
    notice('', 'ok');
    receiptChanged();
    if (customer) { refreshBalance('Новый чек'); }
  }

  // ---------- wiring ----------

  $('search-form').addEventListener('submit', search);
  $('register').addEventListener('submit', function (event) { register(event); });
  $('register-confirm').addEventListener('click', confirmRegistration);
  $('add-form').addEventListener('submit', addLine);
  $('product').addEventListener('change', productChanged);
  $('retailStore').addEventListener('change', receiptChanged);
  $('mode-earning').addEventListener('change', modeChanged);
  $('mode-spending').addEventListener('change', modeChanged);
  $('recalc').addEventListener('click', recalc);
  $('sell').addEventListener('click', sell);
  $('new-receipt').addEventListener('click', newReceipt);
  $('return').addEventListener('click', returnGoods);
  $('giftcard-check').addEventListener('click', checkGiftcard);
  $('spend-code').addEventListener('click', requestSpendCode);
  $('spend-confirm').addEventListener('click', confirmSpendCode);

  function modeChanged() {
    $('preferred').disabled = mode() !== 'SPENDING';
    if (!sold) { receiptChanged(); }
  }

  loadTill();
})();
