// The official Clickstream Web SDK as one browser script (the npm package ships CommonJS and ES modules only):
// scripts/vendor.sh bundles this with esbuild into static/vendor/clickstream-web.min.js.
import { ClickstreamAnalytics, SendMode } from '@aws/clickstream-web';

window.ClickstreamAnalytics = ClickstreamAnalytics;
window.ClickstreamSendMode = SendMode;
