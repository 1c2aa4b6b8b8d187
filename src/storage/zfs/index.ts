// PLACEHOLDER, being replaced by the real driver in this session.
import { NotSupportedError } from '../../sys/errors.js';
import type { DriverFactory } from '../driver.js';
export const zfsDriver: DriverFactory = {
  name: 'zfs',
  info: { name: 'zfs', copyOnWrite: false, incrementalSend: false, streamFormat: 'tar', snapshotsOutliveDataset: false, note: '' },
  tools: [],
  createPool: () => { throw new NotSupportedError('zfs'); },
  open: () => { throw new NotSupportedError('zfs'); },
  destroyPool: () => { throw new NotSupportedError('zfs'); },
};
