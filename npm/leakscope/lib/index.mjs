// ESM entry: the CommonJS API re-exported.
import api from './index.js';

export const { hunt, findLeaks, summary, expectNoLeak, LeakError, LeakscopeError, binaryPath } = api;
export default api;
