#!/usr/bin/env bash
# Installs the pinned front-end packages from npm and copies the files the templates use into static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
npm install --no-audit --no-fund --no-package-lock --silent
mkdir -p static/vendor
cp node_modules/bootstrap/dist/css/bootstrap.min.css static/vendor/
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js static/vendor/
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
cp node_modules/echarts/dist/echarts.min.js static/vendor/
cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css static/vendor/
mkdir -p static/vendor/fonts && cp node_modules/bootstrap-icons/font/fonts/* static/vendor/fonts/
# The Web SDK has no browser bundle in its package: esbuild makes one (the integration guide's test page uses it).
node_modules/.bin/esbuild scripts/clickstream-web.js --bundle --format=iife --minify --log-level=warning \
  --outfile=static/vendor/clickstream-web.min.js
