import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { tempDir } from '../helpers/temp.js';
import { warehouseContract } from './contract.js';

warehouseContract('embedded (chdb)', () => EmbeddedWarehouse.open(tempDir()));
