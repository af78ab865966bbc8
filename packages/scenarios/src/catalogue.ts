import type { Role } from './types.ts';
import { commsModules as c } from './modules/comms.ts';
import { driverModules as d } from './modules/drivers.ts';
import { evseModules as e } from './modules/evse.ts';
import { platformModules as p } from './modules/platform.ts';
import type { ModuleSpec } from './modules/spec.ts';

export type { Edit, FnSpec, ModuleSpec } from './modules/spec.ts';

export const catalogue: Record<Role, ModuleSpec[]> = {
  mqtt_broker: [p.mosquitto],
  manager: [p.manager],
  evse_manager: [e.evseManager],
  bsp: [d.phyVerso, d.yeti, d.umwc],
  powersupply_dc: [
    d.canPsu('InfyPower_BEG1K075G', 'can_driver_acdc/CanDevice.cpp', 'CanDevice'),
    d.canPsu('InfyPower', 'InfyCanDevice.cpp', 'InfyCanDevice'),
    d.canPsu('Winline', 'winline_can/WinlineCanDevice.cpp', 'WinlineCanDevice'),
    d.canPsu('UUGreenPower_UR1000X0', 'can_driver/UUGreenCan.cpp', 'UUGreenCan'),
  ],
  imd: [d.imd('Bender_isoCHA425HV'), d.imd('DoldRN5893')],
  comm_hub: [d.commHub],
  powermeter_dc: [d.lem, d.iem],
  powermeter_ac: [d.acMeter('GenericPowermeter'), d.acMeter('CarloGavazzi_EM580'), d.acMeter('DZG_GSH01')],
  slac: [c.slac],
  iso15118: [c.evseV2G],
  auth: [p.authModule],
  rfid: [p.pn532],
  ocpp: [c.ocpp16],
  csms: [c.csms],
  network: [c.setupModem],
  evse_security: [c.evseSecurity],
  energy_manager: [p.energyManager],
  grid_connection_point: [p.energyNode],
  persistent_store: [p.persistentStore],
  system: [p.systemModule],
  display: [p.hmi],
  api: [p.apiModule],
  error_history: [p.errorHistory],
};

/** The module spec a service instance was built from. */
export function moduleSpec(role: Role, type: string): ModuleSpec {
  const spec = catalogue[role].find((m) => m.type === type);
  if (!spec) throw new Error(`no module ${type} for role ${role}`);
  return spec;
}
