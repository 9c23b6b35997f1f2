/**
 * The console's entry: a hash router. Each navigation tears the last page down (its timers and
 * sockets) and draws the new one into a fresh element, so a request the old page still has in
 * flight lands in a detached node instead of on the new page.
 */
import { showError } from './api.js';
import { brokersPage } from './brokers.js';
import type { PageContext } from './dom.js';
import { groupPage, groupsPage } from './groups.js';
import { topicPage } from './topic.js';
import { topicsPage } from './topics.js';

const DEFAULT_ROUTE = '#/topics';

let teardown: Array<() => void> = [];

function route(segments: string[]): ((ctx: PageContext) => Promise<void> | void) | null {
  const [section, name, ...rest] = segments;
  if (rest.length > 0) return null;
  switch (section) {
    case 'brokers':
      return name === undefined ? brokersPage : null;
    case 'topics':
      return name === undefined ? topicsPage : (ctx) => topicPage(ctx, name);
    case 'groups':
      return name === undefined ? groupsPage : (ctx) => groupPage(ctx, name);
    default:
      return null;
  }
}

function segmentsOf(hash: string): string[] | null {
  try {
    return hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return null; // a malformed %-escape
  }
}

function render(): void {
  for (const fn of teardown) fn();
  teardown = [];
  showError('');

  let segments = segmentsOf(location.hash);
  let page = segments === null ? null : route(segments);
  if (page === null) {
    // Unknown or empty: the topics page, without a history entry of its own.
    history.replaceState(null, '', DEFAULT_ROUTE);
    segments = ['topics'];
    page = route(segments);
  }

  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a[data-section]')) {
    a.classList.toggle('active', a.dataset.section === segments?.[0]);
  }
  const main = document.createElement('main');
  main.id = 'main';
  document.getElementById('main')?.replaceWith(main);
  const ctx: PageContext = { main, onLeave: (fn) => teardown.push(fn) };
  Promise.resolve()
    .then(() => page?.(ctx))
    .catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)));
}

document.getElementById('error')?.addEventListener('click', () => showError(''));
window.addEventListener('hashchange', render);
render();
