// Server-sent events over fetch. EventSource cannot send an Authorization header, so the console
// reads the stream itself: SseParser follows the WHATWG HTML "Server-sent events" parsing rules
// (section 9.2.6, "Interpreting an event stream"), and followEvents() reconnects with
// Last-Event-ID so that no event is lost or shown twice across a dropped connection.

// Incremental parser: feed() it decoded text as it arrives; it returns the complete events.
// An event is {id, type, data}; `id` is the last event ID seen so far (as the spec defines it,
// it carries over to events without an id: line).
export class SseParser {
  constructor() {
    this.buffer = '';
    this.data = [];
    this.type = '';
    this.lastEventId = '';
    this.retry = null;  // milliseconds the server asked to wait before reconnecting
    this.pendingCr = false;
  }

  feed(text) {
    const events = [];
    if (text === '') return events;
    let start = 0;
    let s = this.buffer + text;
    this.buffer = '';
    if (this.pendingCr) {
      // A CR ended the previous chunk: an LF right after it belongs to the same line end.
      this.pendingCr = false;
      if (s.startsWith('\n')) s = s.slice(1);
    }
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(s.slice(start, i), events);
      if (c === 13) {
        if (i + 1 === s.length) this.pendingCr = true;
        else if (s.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = s.slice(start);
    return events;
  }

  // At the end of the stream: an event without its closing blank line is discarded (the spec).
  end() {
    this.buffer = '';
    this.data = [];
    this.type = '';
    this.pendingCr = false;
  }

  line(line, events) {
    if (line === '') {
      if (this.data.length > 0) {
        events.push({ id: this.lastEventId, type: this.type || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.type = '';
      return;
    }
    if (line.startsWith(':')) return;  // a comment (": keep-alive")
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;  // unknown fields are ignored
    }
  }
}

// Error of a stream the server refused: retrying would not help (401, 403, 404...).
export class StreamRefused extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Follows the event stream at `url` until `signal` aborts or `shouldContinue()` turns false
// after the stream ends. Each event goes to onEvent({id, type, data}); onState(state, detail)
// hears 'open', 'reconnecting' (with the delay in ms) and 'refused' (with the StreamRefused
// error). Reconnects start at 1 s and double to 15 s, and go back to 1 s once events flow.
// `fetchImpl` is for tests.
export async function followEvents({
  url,
  token,
  lastEventId = '',
  onEvent,
  onState = () => {},
  signal,
  shouldContinue = () => true,
  fetchImpl = globalThis.fetch,
  minDelay = 1000,
  maxDelay = 15000,
}) {
  let delay = minDelay;
  let last = lastEventId;
  while (!signal?.aborted) {
    const parser = new SseParser();
    try {
      const headers = { Accept: 'text/event-stream' };
      if (token) headers.Authorization = `Bearer ${token}`;
      if (last !== '') headers['Last-Event-ID'] = last;
      const response = await fetchImpl(url, { headers, signal, cache: 'no-store' });
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        let message = `HTTP ${response.status}`;
        try {
          const body = await response.json();
          if (body?.error?.message) message = body.error.message;
        } catch {
          // not JSON: keep the status
        }
        const error = new StreamRefused(response.status, message);
        onState('refused', error);
        throw error;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onState('open');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(value)) {
          last = event.id;
          delay = minDelay;
          onEvent(event);
        }
      }
      parser.end();
      if (parser.retry !== null) delay = Math.max(parser.retry, 0);
    } catch (error) {
      if (error instanceof StreamRefused) throw error;
      if (signal?.aborted) return;
      if (parser.retry !== null) delay = Math.max(parser.retry, 0);
    }
    if (!shouldContinue()) return;
    onState('reconnecting', delay);
    await sleep(delay, signal);
    delay = Math.min(Math.max(delay * 2, minDelay), maxDelay);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
