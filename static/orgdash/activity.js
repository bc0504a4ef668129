/* Activity tab: two Chart.js line charts fed by the activity API (precomputed aggregates).
 * No inline script: the page only carries the API URLs as data attributes. */
(function () {
  'use strict';

  var app = document.getElementById('activity-app');
  if (!app) return;

  var POLL_MS = 60000;          // aggregates are refreshed about once a minute
  var POLL_PENDING_MS = 10000;  // sooner while the first figures are being computed
  var numberFormat = new Intl.NumberFormat('en-US');
  var dayFormat = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
  var weekdayFormat = new Intl.DateTimeFormat('en-US', { weekday: 'short' });
  var shortDayFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' });
  var timeFormat = new Intl.DateTimeFormat('en-US', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC'
  });
  var relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  var computedLine = app.querySelector('[data-computed]');

  function parseDay(iso) {
    var parts = iso.split('-');
    return new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
  }

  function formatDay(iso) {
    return dayFormat.format(parseDay(iso));
  }

  function formatRange(start, end) {
    var a = parseDay(start);
    var b = parseDay(end);
    var left = a.getFullYear() === b.getFullYear() ? shortDayFormat.format(a) : dayFormat.format(a);
    return left + ' – ' + dayFormat.format(b);
  }

  function relativeTime(date) {
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    if (abs < 45) return 'just now';
    if (abs < 3600) return relativeFormat.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return relativeFormat.format(Math.round(seconds / 3600), 'hour');
    return relativeFormat.format(Math.round(seconds / 86400), 'day');
  }

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function ChartCard(element, options) {
    this.element = element;
    this.url = options.url;
    this.kind = options.kind;
    this.color = options.color;
    this.select = element.querySelector('[data-period]');
    this.canvas = element.querySelector('[data-canvas]');
    this.overlay = element.querySelector('[data-overlay]');
    this.overlayText = element.querySelector('[data-overlay-text]');
    this.retry = element.querySelector('[data-retry]');
    this.tooltip = element.querySelector('[data-tooltip]');
    this.rows = element.querySelector('[data-rows]');
    this.total = element.querySelector('[data-total]');
    this.ranges = element.querySelectorAll('[data-range]');
    this.chart = null;
    this.data = null;
    this.controller = null;
    var card = this;
    this.select.addEventListener('change', function () { card.load(false); });
    this.retry.addEventListener('click', function () { card.load(false); });
  }

  ChartCard.prototype.setState = function (state, message) {
    // state: loading | ready | empty | pending | error
    this.element.setAttribute('data-state', state);
    this.element.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
    var showOverlay = state !== 'ready';
    this.overlay.hidden = !showOverlay;
    this.overlay.className = 'chart-overlay is-' + state;
    this.overlay.setAttribute('role', state === 'error' ? 'alert' : 'status');
    this.overlayText.textContent = message || '';
    this.retry.hidden = state !== 'error';
  };

  ChartCard.prototype.load = function (background) {
    var card = this;
    var period = this.select.value;
    if (this.controller) this.controller.abort();
    var controller = new AbortController();
    this.controller = controller;
    if (!background) this.setState('loading', 'Loading…');
    var headers = { Accept: 'application/json' };
    // Polling is not user activity: the server does not count requests carrying this header.
    if (background) headers['X-Orgdash-Background'] = '1';
    return fetch(this.url + '?period=' + encodeURIComponent(period), {
      credentials: 'same-origin',
      headers: headers,
      signal: controller.signal
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          var error = new Error(body.detail || ('The server answered ' + response.status + '.'));
          error.status = response.status;
          throw error;
        });
      }
      return response.json();
    }).then(function (data) {
      if (controller !== card.controller) return;
      var unchanged = background && card.data && card.data.computed_at === data.computed_at &&
        card.data.period === data.period;
      if (!unchanged) card.render(data);
      updateComputedLine();
    }).catch(function (error) {
      if (error.name === 'AbortError' || controller !== card.controller) return;
      if (background && card.data) return;  // keep showing the last figures; the next poll retries
      var message = error.status === 401 || error.status === 403
        ? 'Your session has ended. Reload the page to log in again.'
        : 'Could not load the figures. ' + (error.message || '');
      card.setState('error', message);
    });
  };

  ChartCard.prototype.render = function (data) {
    this.data = data;
    var points = data.series;
    this.ranges.forEach(function (node) { node.textContent = '(' + formatRange(data.start, data.end) + ')'; });
    if (this.total) this.total.textContent = numberFormat.format(data.total_active_users);
    this.drawChart(points);
    this.fillTable(points);
    var empty = points.every(function (point) { return point.active_users === 0; });
    if (data.computed_at === null) {
      this.setState('pending', 'The figures are being computed; they appear here within a minute.');
    } else if (empty) {
      this.setState('empty', 'No activity in this period yet.');
    } else {
      this.setState('ready', '');
    }
  };

  ChartCard.prototype.drawChart = function (points) {
    var card = this;
    var dense = points.length > 62;
    if (this.chart) {
      var dataset = this.chart.data.datasets[0];
      dataset.data = points;
      dataset.pointRadius = dense ? 0 : 2.5;
      this.chart.update();
      return;
    }
    var context = this.canvas.getContext('2d');
    this.chart = new window.Chart(context, {
      type: 'line',
      data: {
        datasets: [{
          label: this.kind === 'summary' ? 'Unique active users since the start' : 'Active users',
          data: points,
          parsing: { xAxisKey: 'date', yAxisKey: 'active_users' },
          borderColor: this.color,
          borderWidth: 2,
          pointRadius: dense ? 0 : 2.5,
          pointHoverRadius: 5,
          pointBackgroundColor: this.color,
          pointHoverBorderColor: '#fff',
          pointHoverBorderWidth: 2,
          cubicInterpolationMode: 'monotone',
          fill: 'origin',
          backgroundColor: function (ctx) {
            var area = ctx.chart.chartArea;
            if (!area) return 'transparent';
            var gradient = ctx.chart.ctx.createLinearGradient(0, area.top, 0, area.bottom);
            gradient.addColorStop(0, card.color + '40');
            gradient.addColorStop(1, card.color + '05');
            return gradient;
          }
        }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 300 },
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: {
            type: 'time',
            time: { minUnit: 'day', tooltipFormat: 'MMM d, yyyy' },
            grid: { display: false },
            border: { color: cssVar('--line', '#dde1e8') },
            ticks: { color: cssVar('--muted', '#5b6478'), maxRotation: 0, autoSkipPadding: 20 }
          },
          y: {
            beginAtZero: true,
            grace: '8%',
            border: { display: false },
            grid: { color: '#eef0f4' },
            ticks: {
              color: cssVar('--muted', '#5b6478'),
              precision: 0,
              callback: function (value) { return numberFormat.format(value); }
            }
          }
        },
        plugins: {
          legend: { display: false },
          tooltip: { enabled: false, external: function (ctx) { card.showTooltip(ctx); } }
        }
      }
    });
  };

  ChartCard.prototype.showTooltip = function (context) {
    var tooltip = context.tooltip;
    var box = this.tooltip;
    if (!tooltip || tooltip.opacity === 0 || !tooltip.dataPoints || !tooltip.dataPoints.length) {
      box.hidden = true;
      return;
    }
    var point = tooltip.dataPoints[0].raw;
    var day = parseDay(point.date);
    var what = this.kind === 'summary' ? ' unique active users since ' + formatDay(this.data.start)
      : (point.active_users === 1 ? ' active user' : ' active users');
    box.textContent = '';
    var title = document.createElement('div');
    title.className = 'chart-tooltip-date';
    title.textContent = weekdayFormat.format(day) + ', ' + dayFormat.format(day);
    var value = document.createElement('div');
    value.className = 'chart-tooltip-value';
    var number = document.createElement('strong');
    number.textContent = numberFormat.format(point.active_users);
    value.appendChild(number);
    value.appendChild(document.createTextNode(what));
    box.appendChild(title);
    box.appendChild(value);
    box.hidden = false;
    var area = context.chart.chartArea;
    var width = box.offsetWidth;
    var left = Math.min(Math.max(tooltip.caretX - width / 2, area.left), area.right - width);
    var top = tooltip.caretY - box.offsetHeight - 12;
    if (top < 0) top = tooltip.caretY + 12;
    box.style.transform = 'translate(' + Math.round(left) + 'px, ' + Math.round(top) + 'px)';
  };

  ChartCard.prototype.fillTable = function (points) {
    var fragment = document.createDocumentFragment();
    points.forEach(function (point) {
      var row = document.createElement('tr');
      var date = document.createElement('td');
      var time = document.createElement('time');
      time.dateTime = point.date;
      time.textContent = formatDay(point.date);
      date.appendChild(time);
      var value = document.createElement('td');
      value.textContent = numberFormat.format(point.active_users);
      row.appendChild(date);
      row.appendChild(value);
      fragment.appendChild(row);
    });
    this.rows.replaceChildren(fragment);
  };

  var cards = [
    new ChartCard(app.querySelector('[data-chart="summary"]'), {
      url: app.dataset.summaryUrl, kind: 'summary', color: '#2b59c3'
    }),
    new ChartCard(app.querySelector('[data-chart="timeseries"]'), {
      url: app.dataset.timeseriesUrl, kind: 'timeseries', color: '#c77c00'
    })
  ];

  function updateComputedLine() {
    var times = cards.map(function (card) { return card.data && card.data.computed_at; }).filter(Boolean);
    if (!cards.some(function (card) { return card.data; })) return;
    computedLine.textContent = '';
    if (!times.length) {
      computedLine.textContent = 'The figures have not been computed yet.';
      return;
    }
    var latest = new Date(times.sort().pop());
    var when = document.createElement('time');
    when.dateTime = latest.toISOString();
    when.title = latest.toString();
    when.textContent = relativeTime(latest);
    computedLine.appendChild(document.createTextNode('Figures computed '));
    computedLine.appendChild(when);
    computedLine.appendChild(document.createTextNode(' (' + timeFormat.format(latest) + ' UTC)'));
  }

  function poll() {
    var pending = cards.some(function (card) { return card.data && card.data.computed_at === null; });
    window.setTimeout(function () {
      if (document.hidden) { poll(); return; }
      Promise.all(cards.map(function (card) { return card.load(true); })).then(poll, poll);
    }, pending ? POLL_PENDING_MS : POLL_MS);
  }

  if (!window.Chart) {
    cards.forEach(function (card) { card.setState('error', 'The chart library could not be loaded.'); });
    return;
  }
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Promise.all(cards.map(function (card) { return card.load(false); })).then(poll, poll);
  window.setInterval(updateComputedLine, 30000);
})();
