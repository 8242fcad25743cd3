import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contentSecurityPolicy, escapeHtml, loginPage, logoutPage, messagePage } from './pages.js';

describe('demo identity provider pages', () => {
  it('escapes the five HTML-significant characters (property: no tag or quote survives)', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
    fc.assert(fc.property(fc.string(), (s) => {
      assert.doesNotMatch(escapeHtml(s), /[<>"']/);
    }));
  });

  it('builds a CSP with no script source but self, the style nonce and the form targets', () => {
    assert.equal(
      contentSecurityPolicy({ styleNonce: 'abc', formTargets: ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'] }),
      `default-src 'none'; script-src 'self'; style-src 'nonce-abc'; form-action 'self' http://127.0.0.1:8080; frame-ancestors 'none'; base-uri 'none'`,
    );
    assert.match(contentSecurityPolicy({ formTargets: [] }), /style-src 'none'; form-action 'self'; frame-ancestors/);
  });

  it('renders the login form with the nonce, the error and the kept name, all escaped, and no script', () => {
    const html = loginPage({ nonce: 'n0nce', action: '/interaction/u1', clientName: '<Beamgate>', error: 'wrong user name or password', login: '"x' });
    assert.match(html, /<style nonce="n0nce">/);
    assert.match(html, /<form method="post" action="\/interaction\/u1"/);
    assert.match(html, /Log in to &#60;Beamgate&#62;/);
    assert.match(html, /role="alert">wrong user name or password</);
    assert.match(html, /name="login" required autofocus value="&#34;x"/);
    assert.match(html, /name="prompt" value="cancel"/);
    assert.doesNotMatch(html, /<script|\sstyle=|\son[a-z]+=/i);
  });

  it('puts the logout buttons on oidc-provider\'s form and the message text on message pages', () => {
    const form = '<form id="op.logoutForm" method="post" action="/session/end/confirm"><input type="hidden" name="xsrf" value="s"/></form>';
    const html = logoutPage('n', form, 'Beamgate');
    assert.ok(html.includes(form));
    assert.match(html, /form="op\.logoutForm" name="logout" value="yes"/);
    assert.match(html, /You are leaving Beamgate\./);
    assert.doesNotMatch(logoutPage('n', form, undefined), /leaving/);
    assert.match(messagePage('n', 'T<', 'x&y'), /<h1>T&#60;<\/h1><p>x&#38;y<\/p>/);
  });
});
