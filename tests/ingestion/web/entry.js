// Bundled by the collector tests with esbuild: exposes the official Web SDK to the test page.
import { ClickstreamAnalytics, SendMode } from '@aws/clickstream-web';

window.ClickstreamAnalytics = ClickstreamAnalytics;
window.SendMode = SendMode;
