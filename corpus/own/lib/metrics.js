'use strict';
// The app's metrics, in one module as most services keep them.
const { Histogram } = require('tiny-metrics');

const histogram = new Histogram({
  name: 'api_latency_seconds',
  help: 'API latency by route and user',
  labelNames: ['route', 'user'],
});

function timeRequest(route, user, seconds) {
  histogram.observe({ route, user }, seconds);
}

module.exports = { timeRequest };
