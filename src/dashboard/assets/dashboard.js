// The dashboard's one script, plain and unbundled: it keeps the page's live regions current from
// server-sent events, sends the action buttons' POSTs, and shows a dead letter's payload on
// demand. Every region is rendered (and escaped) by the server; this only swaps them in.
(() => {
  const { base, events, job } = document.body.dataset;
  const liveState = document.querySelector('[data-live-state]');
  const notice = document.querySelector('[data-notice]');
  const shown = new Map();

  const say = (element, text, tone) => {
    if (!element) return;
    element.textContent = text;
    element.dataset.tone = tone ?? '';
  };

  const stream = new EventSource(events);
  stream.addEventListener('open', () => say(liveState, 'live', 'ok'));
  stream.addEventListener('error', () => say(liveState, 'reconnecting…', 'bad'));
  stream.addEventListener('sections', (event) => {
    const sections = JSON.parse(event.data);
    for (const [id, markup] of Object.entries(sections)) {
      if (shown.get(id) === markup) continue;
      shown.set(id, markup);
      const region = document.querySelector(`[data-live="${CSS.escape(id)}"]`);
      if (region) region.innerHTML = markup;
    }
  });

  const jobUrl = (rest) => `${base}api/jobs/${encodeURIComponent(job)}/${rest}`;

  async function act(button) {
    const question = button.dataset.confirm;
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    say(notice, `${button.textContent}…`);
    try {
      const response = await fetch(jobUrl(`actions/${button.dataset.action}`), {
        method: 'POST',
        headers: { 'x-sluice-action': '1' },
        credentials: 'same-origin',
      });
      const type = response.headers.get('content-type') ?? '';
      const answer = type.startsWith('application/json')
        ? await response.json()
        : { error: (await response.text()).trim() };
      if (response.ok) say(notice, answer.message, 'ok');
      else say(notice, answer.error, 'bad');
    } catch (error) {
      say(notice, `The dashboard did not answer: ${error.message}`, 'bad');
    } finally {
      button.disabled = false;
    }
  }

  async function showPayload(key) {
    const dialog = document.querySelector('[data-payload-dialog]');
    const body = dialog.querySelector('[data-payload-body]');
    dialog.querySelector('h2').textContent = `Payload of ${key}`;
    body.textContent = 'Loading…';
    dialog.showModal();
    const response = await fetch(jobUrl(`dead-letters/${encodeURIComponent(key)}`), {
      credentials: 'same-origin',
    });
    if (!response.ok) {
      body.textContent = (await response.text()).trim();
      return;
    }
    const letter = await response.json();
    body.textContent = [
      JSON.stringify(letter.payload, null, 2),
      '',
      `error (after ${letter.attempts} attempts): ${letter.error}`,
      letter.stack ?? '',
    ].join('\n');
  }

  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const action = target?.closest('button[data-action]');
    if (action) act(action);
    const payload = target?.closest('button[data-payload]');
    if (payload)
      showPayload(payload.dataset.payload).catch((error) => {
        document.querySelector('[data-payload-body]').textContent = `Not loaded: ${error.message}`;
      });
  });
})();
