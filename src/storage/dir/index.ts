// PLACEHOLDER, being replaced by the real driver in this session.
import { NotSupportedError } from '../../sys/errors.js';
import type { DriverFactory } from '../driver.js';
export const dirDriver: DriverFactory = {
  name: 'dir',
  info: { name: 'dir', copyOnWrite: false, incrementalSend: false, streamFormat: 'tar', snapshotsOutliveDataset: false, note: '' },
  tools: [],
  createPool: () => { throw new NotSupportedError('dir'); },
  open: () => { throw new NotSupportedError('dir'); },
  destroyPool: () => { throw new NotSupportedError('dir'); },
};
