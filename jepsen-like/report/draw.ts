// The script inlined in report.html: it reads the embedded data (model.ts) and draws each plot as SVG. It only
// ever sets text through textContent and attributes through setAttribute, so no value from the history can
// become markup. When it is done it marks <body data-rendered="true"> ("error" and a message if it threw), which
// is what the headless-browser test waits for.

export const DRAW_SCRIPT = String.raw`(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var OUTCOMES = ['ok', 'fail', 'info'];
  var WIDTH = 1100, LEFT = 70, RIGHT = 16;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, cls, anchor) {
    var node = el('text', { x: x, y: y, 'class': cls || 'label', 'text-anchor': anchor || 'start' }, parent);
    node.textContent = content;
    return node;
  }
  function tip(node, content) { el('title', {}, node).textContent = content; return node; }
  function plot(id, height) {
    var svg = el('svg', { viewBox: '0 0 ' + WIDTH + ' ' + height, width: '100%', 'class': 'plot' }, null);
    document.getElementById(id).appendChild(svg);
    return svg;
  }
  function fmtMs(ms) {
    if (ms === 0) return '0';
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + ' s';
    if (ms >= 1) return ms.toFixed(ms >= 10 ? 0 : 1) + ' ms';
    return (ms * 1000).toFixed(0) + ' µs';
  }
  function linear(d0, d1, r0, r1) {
    var span = d1 - d0 || 1;
    return function (v) { return r0 + ((v - d0) / span) * (r1 - r0); };
  }
  function niceStep(span, count) {
    var raw = span / count, power = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / power;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
  }
  function timeAxis(svg, x, t0, t1, top, bottom) {
    var step = niceStep(t1 - t0, 10);
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      el('line', { x1: x(t), x2: x(t), y1: top, y2: bottom, 'class': 'grid' }, svg);
      text(svg, x(t), bottom + 14, fmtMs(t), 'tick', 'middle');
    }
  }
  // Faults shaded over [t0, t1], cut to it: a band behind the plot, a strip with the fault's name above it, and
  // (drawn last, by overlayFaults) a translucent veil over what the plot drew, so the shading shows through bars.
  function faultBands(svg, x, faults, t0, t1, top, bottom, labelled) {
    var veils = [];
    faults.forEach(function (fault) {
      var from = Math.max(fault[0], t0), to = Math.min(fault[1], t1);
      if (to < from) return;
      var box = { x: x(from), y: top, width: Math.max(1, x(to) - x(from)), height: bottom - top };
      el('rect', { x: box.x, y: box.y, width: box.width, height: box.height, 'class': 'fault' }, svg);
      var strip = el('rect', { x: box.x, y: top - 3, width: box.width, height: 3, 'class': 'fault-strip' }, svg);
      tip(strip, fault[2] + ': ' + fmtMs(fault[0]) + ' to ' + fmtMs(fault[1]));
      if (labelled) tip(text(svg, box.x + 2, top - 6, fault[2], 'fault-label'), fault[2] + ': ' + fmtMs(fault[0]) + ' to ' + fmtMs(fault[1]));
      veils.push(box);
    });
    return function overlayFaults() {
      veils.forEach(function (box) { el('rect', { x: box.x, y: box.y, width: box.width, height: box.height, 'class': 'fault-veil' }, svg); });
    };
  }

  // Bars from invocation to completion, one lane per process; info runs to the end, as it may still take effect.
  function timeline(id, ops, laneNames, faults, t0, t1, opts) {
    var laneH = opts.laneH, top = 22, height = top + laneNames.length * laneH + 24;
    var svg = plot(id, height), x = linear(t0, t1, LEFT, WIDTH - RIGHT), bottom = top + laneNames.length * laneH;
    timeAxis(svg, x, t0, t1, top, bottom);
    var overlay = faultBands(svg, x, faults, t0, t1, top, bottom, true);
    if (laneH >= 8) laneNames.forEach(function (name, lane) { text(svg, LEFT - 4, top + lane * laneH + laneH / 2 + 4, name, 'lane', 'end'); });
    ops.forEach(function (op) {
      var outcome = OUTCOMES[op[3]], end = op[3] === 2 || op[2] === null ? t1 : op[2];
      var y = top + op[0] * laneH + (laneH > 3 ? 1 : 0);
      var bar = el('rect', { x: x(op[1]), y: y, width: Math.max(1, x(end) - x(op[1])), height: Math.max(1, laneH - (laneH > 3 ? 2 : 0)), 'class': opts.cls + ' ' + outcome + (op[5] ? ' culprit' : '') }, svg);
      var took = op[2] === null ? 'never completed' : fmtMs(op[2] - op[1]);
      tip(bar, op[4] + ': ' + outcome + ', ' + took);
      if (opts.labels) text(svg, x(op[1]) + 3, y + laneH / 2 + 3, op[4] + (op[5] ? '  ✗' : ''), 'op-label');
    });
    overlay();
  }

  // A point per completed operation at its invocation time, its latency on a log scale.
  function latency(data) {
    var svg = plot('latency', 320), top = 10, bottom = 290;
    var done = data.ops.filter(function (op) { return op[2] !== null; });
    var lat = function (op) { return Math.max(op[2] - op[1], 0.001); };
    var lo = Math.pow(10, Math.floor(Math.log10(done.reduce(function (m, op) { return Math.min(m, lat(op)); }, 1))));
    var hi = Math.max(lo * 10, Math.pow(10, Math.ceil(Math.log10(done.reduce(function (m, op) { return Math.max(m, lat(op)); }, lo)))));
    var x = linear(0, data.spanMs, LEFT, WIDTH - RIGHT), y = linear(Math.log10(lo), Math.log10(hi), bottom, top);
    timeAxis(svg, x, 0, data.spanMs, top, bottom);
    var overlay = faultBands(svg, x, data.faults, 0, data.spanMs, top, bottom, false);
    for (var d = lo; d <= hi; d *= 10) {
      el('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(Math.log10(d)), y2: y(Math.log10(d)), 'class': 'grid' }, svg);
      text(svg, LEFT - 4, y(Math.log10(d)) + 4, fmtMs(d), 'tick', 'end');
    }
    done.forEach(function (op) {
      tip(el('circle', { cx: x(op[1]), cy: y(Math.log10(lat(op))), r: 2, 'class': 'lat ' + OUTCOMES[op[3]] }, svg), op[4] + ': ' + fmtMs(lat(op)));
    });
    overlay();
  }

  // Completions per second, by outcome, a line each.
  function throughput(data) {
    var svg = plot('throughput', 260), top = 10, bottom = 230, tp = data.throughput;
    var peak = Math.max(1, Math.max.apply(null, tp.ok.concat(tp.fail, tp.info)));
    var x = linear(0, data.spanMs, LEFT, WIDTH - RIGHT), y = linear(0, peak * 1.05, bottom, top);
    timeAxis(svg, x, 0, data.spanMs, top, bottom);
    var overlay = faultBands(svg, x, data.faults, 0, data.spanMs, top, bottom, false);
    var step = niceStep(peak, 5);
    for (var v = 0; v <= peak * 1.05; v += step) text(svg, LEFT - 4, y(v) + 4, String(Math.round(v * 100) / 100), 'tick', 'end');
    OUTCOMES.forEach(function (outcome) {
      var points = tp[outcome].map(function (rate, i) { return x((i + 0.5) * tp.bucketMs) + ',' + y(rate); });
      tip(el('path', { d: 'M' + points.join(' L'), 'class': 'tput ' + outcome }, svg), outcome + ' per second');
    });
    overlay();
  }

  function render() {
    var data = JSON.parse(document.getElementById('report-data').textContent);
    var laneNames = data.lanes.map(function (ps) { return 'p' + ps[0] + (ps.length > 1 ? ' +' + (ps.length - 1) : ''); });
    var laneH = Math.max(2, Math.min(16, Math.floor(600 / Math.max(1, laneNames.length))));
    timeline('timeline', data.ops, laneNames, data.faults, 0, data.spanMs, { laneH: laneH, cls: 'op', labels: false });
    latency(data);
    throughput(data);
    data.anomalies.forEach(function (anomaly, i) {
      if (anomaly.ops.length === 0) return;
      var processes = [];
      anomaly.ops.forEach(function (op) { if (processes.indexOf(op[0]) < 0) processes.push(op[0]); });
      processes.sort(function (a, b) { return a - b; });
      var t0 = Math.min.apply(null, anomaly.ops.map(function (op) { return op[1]; }));
      var t1 = Math.max.apply(null, anomaly.ops.map(function (op) { return op[2] === null ? op[1] : op[2]; }));
      var pad = Math.max((t1 - t0) * 0.15, 0.001);
      var ops = anomaly.ops.map(function (op) { return [processes.indexOf(op[0])].concat(op.slice(1)); });
      var faults = data.faults.filter(function (f) { return f[1] >= t0 - pad && f[0] <= t1 + pad; });
      timeline('anomaly-' + i, ops, processes.map(function (p) { return 'p' + p; }), faults, t0 - pad / 3, t1 + pad, { laneH: 24, cls: 'aop', labels: true });
    });
  }

  try {
    render();
    document.body.setAttribute('data-rendered', 'true');
  } catch (error) {
    var box = document.createElement('pre');
    box.id = 'render-error';
    box.textContent = 'the report could not be drawn: ' + (error && error.stack || error);
    document.body.insertBefore(box, document.body.firstChild);
    document.body.setAttribute('data-rendered', 'error');
  }
})();
`;
