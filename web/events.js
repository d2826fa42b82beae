// Live status: the server's event stream (GET /events, Server-Sent Events) delivers every
// change of the user's generations. EventSource reconnects by itself; while it is down the
// caller is told (a quiet indicator) and polls instead.
import { useEffect, useRef, useState } from './lib.js';
import { PREFIX } from './api.js';

// onGeneration(update) for each change; returns 'connecting' | 'live' | 'down'.
export function useLiveEvents(onGeneration) {
  const [state, setState] = useState('connecting');
  const handler = useRef(onGeneration);
  handler.current = onGeneration;

  useEffect(() => {
    const source = new EventSource(`${PREFIX}/events`, { withCredentials: true });
    source.onopen = () => setState('live');
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'down' : 'connecting');
    source.addEventListener('generation', (e) => {
      try {
        handler.current(JSON.parse(e.data));
      } catch {
        /* a malformed event is dropped; the next poll or event brings the truth */
      }
    });
    return () => source.close();
  }, []);
  return state;
}
