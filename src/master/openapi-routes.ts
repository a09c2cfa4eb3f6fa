// GET /openapi.json (every runtime) and the rendered reference at GET /doc (where swagger-ui-dist is
// installed: the Node server). Anyone may read both: they describe the API, they hold no data.
import { Hono } from 'hono';
import { DOC_ASSETS, swaggerUiAssets, type AssetReader } from './openapi-assets.ts';
import { openApiDocument } from './openapi.ts';

// Local files only: no CDN, and validatorUrl null, or Swagger UI would send the document to
// validator.swagger.io for its badge.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>registrar API reference</title>
<link rel="stylesheet" href="/doc/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/doc/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/doc/assets/swagger-ui-bundle.js"></script>
<script src="/doc/assets/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so that a Content-Security-Policy of script-src 'self' allows it.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

const notServedHere = {
  error: 'not_found',
  message: 'the rendered API reference (/doc) is served by the Node server only; GET /openapi.json is served by every runtime',
};

export function docRoutes(assets: AssetReader = swaggerUiAssets()) {
  const app = new Hono();
  // Built on first use and kept: every later request is a constant.
  let document: string | undefined;

  app.get('/openapi.json', (c) => {
    document ??= JSON.stringify(openApiDocument());
    c.header('Content-Type', 'application/json; charset=utf-8');
    return c.body(document);
  });

  app.get('/doc', async (c) => {
    if (!(await assets('swagger-ui-bundle.js'))) return c.json(notServedHere, 404);
    return c.html(PAGE);
  });

  app.get('/doc/assets/:file', async (c) => {
    const file = c.req.param('file');
    if (file === 'init.js') return c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    const bytes = await assets(file);
    if (!bytes) {
      if (file in DOC_ASSETS) return c.json(notServedHere, 404);
      return c.json({ error: 'not_found', message: `no asset ${file}` }, 404);
    }
    return c.body(bytes, 200, { 'Content-Type': DOC_ASSETS[file]!, 'Cache-Control': 'public, max-age=3600' });
  });

  return app;
}
