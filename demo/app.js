/* The demo page: WAMP from the browser with the UMD build (global `Autostrada`).
 * Chat = PubSub; counter = RPC + events; whiteboard = PubSub + RPC for history;
 * router statistics = events published by the router's demo backend. */
(function () {
  'use strict';
  const { Session, connectWebSocket, RetryPolicy } = Autostrada;
  const $ = (id) => document.getElementById(id);
  const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';

  // ------------------------------------------------------------ identity
  const colors = ['#f5b700', '#3ecf8e', '#4da3ff', '#ef5b5b', '#b57bff', '#ff8a3d'];
  const myColor = colors[Math.floor(Math.random() * colors.length)];
  $('board-color').style.background = myColor;
  const nameInput = $('chat-name');
  nameInput.value = sessionStorage.getItem('demo-name') || 'guest' + Math.floor(100 + Math.random() * 900);
  nameInput.addEventListener('change', () => sessionStorage.setItem('demo-name', nameInput.value.trim() || 'guest'));

  let session = null;
  const setStatus = (text, online) => {
    const el = $('status');
    el.textContent = text;
    el.className = 'pill ' + (online ? 'online' : 'offline');
  };

  // ------------------------------------------------------------ chat
  const log = $('chat-log');
  function addChat(m, mine) {
    const li = document.createElement('li');
    if (mine) li.className = 'mine';
    const b = document.createElement('b');
    b.textContent = m.name;
    const t = document.createElement('time');
    t.textContent = new Date(m.at || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    li.append(b, document.createTextNode(m.text), t);
    log.append(li);
    while (log.children.length > 200) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  }
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('chat-text').value.trim();
    if (!text || !session) return;
    const m = { name: (nameInput.value.trim() || 'guest').slice(0, 24), text: text.slice(0, 500), at: Date.now() };
    // exclude_me is the default: show our own message locally.
    session.publish('demo.chat.message', [m]).then(() => addChat(m, true), (err) => console.error(err));
    $('chat-text').value = '';
  });

  // ------------------------------------------------------------ counter
  const counterOut = $('counter-value');
  const showCounter = (v, by) => {
    counterOut.textContent = String(v);
    if (by) $('counter-who').textContent = 'last change by ' + by;
  };
  const add = (d) => session && session.call('demo.counter.add', [d]).then((r) => showCounter(r.args[0], 'you'), (err) => console.error(err));
  $('counter-inc').addEventListener('click', () => add(1));
  $('counter-dec').addEventListener('click', () => add(-1));

  // ------------------------------------------------------------ whiteboard
  const board = $('board');
  const ctx = board.getContext('2d');
  function drawStroke(s) {
    const p = s.points;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(p[0] * board.width, p[1] * board.height);
    for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i] * board.width, p[i + 1] * board.height);
    ctx.stroke();
  }
  const clearBoard = () => ctx.clearRect(0, 0, board.width, board.height);
  let current = null;
  const pos = (e) => {
    const r = board.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
  };
  const flush = () => {
    if (!current || current.points.length < 4) return;
    const s = { color: current.color, width: current.width, points: current.points.map((v) => Math.round(v * 10000) / 10000) };
    if (session) session.publish('demo.board.stroke', [s]).catch((err) => console.error(err));
    const last = current.points.slice(-2);
    current.points = last;
  };
  board.addEventListener('pointerdown', (e) => {
    board.setPointerCapture(e.pointerId);
    current = { color: myColor, width: 4, points: pos(e) };
  });
  board.addEventListener('pointermove', (e) => {
    if (!current) return;
    const [x, y] = pos(e);
    const n = current.points.length;
    drawStroke({ color: current.color, width: current.width, points: [current.points[n - 2], current.points[n - 1], x, y] });
    current.points.push(x, y);
    if (current.points.length >= 64) flush();
  });
  const end = () => {
    flush();
    current = null;
  };
  board.addEventListener('pointerup', end);
  board.addEventListener('pointercancel', end);
  $('board-clear').addEventListener('click', () => session && session.call('demo.board.clear').catch((err) => console.error(err)));

  // ------------------------------------------------------------ stats
  const chart = $('stats-chart');
  const cctx = chart.getContext('2d');
  const history = [];
  function drawChart() {
    const w = chart.width;
    const h = chart.height;
    cctx.clearRect(0, 0, w, h);
    const max = Math.max(10, ...history.map((s) => Math.max(s.in_per_s, s.out_per_s)));
    const plot = (key, color) => {
      cctx.strokeStyle = color;
      cctx.lineWidth = 2;
      cctx.beginPath();
      history.forEach((s, i) => {
        const x = w - ((history.length - 1 - i) / 59) * w;
        const y = h - 8 - (s[key] / max) * (h - 16);
        if (i === 0) cctx.moveTo(x, y);
        else cctx.lineTo(x, y);
      });
      cctx.stroke();
    };
    plot('out_per_s', '#4da3ff');
    plot('in_per_s', '#f5b700');
    cctx.fillStyle = '#8b93a7';
    cctx.font = '11px system-ui';
    cctx.fillText(max + ' msg/s', 6, 14);
  }
  function showStats(s) {
    $('stat-sessions').textContent = s.sessions;
    $('stat-in').textContent = s.in_per_s;
    $('stat-out').textContent = s.out_per_s;
    const u = s.uptime_s;
    $('stat-uptime').textContent = u < 120 ? u + ' s' : u < 7200 ? Math.round(u / 60) + ' min' : Math.round(u / 3600) + ' h';
    history.push(s);
    if (history.length > 60) history.shift();
    drawChart();
  }

  // ------------------------------------------------------------ connection
  async function joined(s) {
    session = s;
    $('me-session').textContent = s.id;
    $('me-serializer').textContent = 'json';
    setStatus('connected · session ' + s.id, true);
    await s.subscribe('demo.chat.message', (args) => addChat(args[0], false));
    await s.subscribe('demo.counter.on_change', (args, kwargs) => showCounter(args[0], kwargs.by));
    await s.subscribe('demo.board.stroke', (args) => drawStroke(args[0]));
    await s.subscribe('demo.board.on_clear', () => clearBoard());
    await s.subscribe('autostrada.router.on_stats', (_args, kwargs) => showStats(kwargs));
    const [history, counter, strokes, stats] = await Promise.all([
      s.call('demo.chat.history'),
      s.call('demo.counter.get'),
      s.call('demo.board.get'),
      s.call('autostrada.router.stats'),
    ]);
    log.textContent = '';
    for (const m of history.args[0]) addChat(m, false);
    showCounter(counter.args[0]);
    clearBoard();
    for (const st of strokes.args[0]) drawStroke(st);
    showStats(stats.args[0]);
    document.body.dataset.ready = 'true';
  }

  const retry = new RetryPolicy({ initial_retry_delay: 0.5, max_retry_delay: 10, max_retries: -1 });
  async function connect() {
    for (;;) {
      try {
        setStatus('connecting…', false);
        const s = await Session.join(await connectWebSocket(wsUrl), 'realm1');
        retry.reset();
        await joined(s);
        const info = await s.closed;
        session = null;
        document.body.dataset.ready = 'false';
        setStatus('disconnected (' + (info.reason || 'closed') + ')', false);
      } catch (err) {
        session = null;
        setStatus('offline — retrying', false);
        console.warn(err);
      }
      await new Promise((r) => setTimeout(r, retry.nextDelay()));
    }
  }
  connect();
})();
