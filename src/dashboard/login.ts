// The sign-in page (the operator token, entered once per browser session) and the error page.
import { h, page } from './layout.ts';

export function loginPage(problem?: string) {
  return page(
    { title: 'Sign in' },
    h('h1', null, 'Sign in'),
    problem ? h('p', { class: 'banner error', role: 'alert' }, problem) : null,
    h(
      'form',
      { method: 'post', action: '/login', class: 'card inline' },
      h('label', null, 'Operator token', h('input', { type: 'password', name: 'token', required: true, autocomplete: 'current-password', size: 40 })),
      h('button', { type: 'submit' }, 'Sign in'),
    ),
    h('p', { class: 'muted' }, 'The token stays on the server; this browser keeps only a session cookie until it closes.'),
  );
}

export function errorPage(status: number, code: string, message: string, session?: { operator: string; csrf: string }) {
  return page(
    { title: `Error ${status}`, ...(session ? { session } : {}) },
    h('h1', null, `Error ${status}`),
    h('section', { class: 'banner error', role: 'alert', id: 'error' }, h('p', null, h('code', null, code), ': ', message)),
    h('p', null, 'The request did not succeed: check the agent or the overview before trying again. ', h('a', { href: '/' }, 'Back to the overview')),
  );
}
