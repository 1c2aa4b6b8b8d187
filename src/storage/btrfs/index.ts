// PLACEHOLDER, being replaced by the real driver in this session.
import { NotSupportedError } from '../../sys/errors.js';
import type { DriverFactory } from '../driver.js';
export const btrfsDriver: DriverFactory = {
  name: 'btrfs',
  info: { name: 'btrfs', copyOnWrite: false, incrementalSend: false, streamFormat: 'tar', snapshotsOutliveDataset: false, note: '' },
  tools: [],
  createPool: () => { throw new NotSupportedError('btrfs'); },
  open: () => { throw new NotSupportedError('btrfs'); },
  destroyPool: () => { throw new NotSupportedError('btrfs'); },
};
