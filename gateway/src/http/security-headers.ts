// Response headers every page and API answer carries. noVNC draws JPEG rects and cursors from
// data: URLs, so img-src allows data:; it needs no eval and no inline styles.
import type { RequestHandler } from 'express';

export const CONTENT_SECURITY_POLICY = [
  'default-src \'self\'',
  'script-src \'self\'',
  'style-src \'self\'',
  'img-src \'self\' data:',
  'connect-src \'self\'',
  'worker-src \'none\'',
  'object-src \'none\'',
  'base-uri \'none\'',
  'frame-ancestors \'none\'',
  'form-action \'self\'',
].join('; ');

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
};
