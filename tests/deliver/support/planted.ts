// Issue 15: identifiers a station really emits, planted in an event and its log lines. Every one of
// them must be caught on every path that leaves the device.
export const planted = {
  idTagCamel: '04A2B3C4D5E6F7',
  idTagPascal: '04C1D2E3F4A5B6',
  idToken201: 'DE83A3E6B4C7',
  idTagSnake: '04F1E2D3C4B5A6',
  rfidProse: '04B7C2D9E1A3',
  vinProse: '1M8GDM9AXKP042788',
  vinEurope: 'WVWZZZE1ZMP054321',
  email: 'jane.driver@example-fleet.com',
  bearer: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjc21zIn0.c2lnbmF0dXJlMTIz',
  password: 'Sup3r-Secret-77',
  authorizationKey: '0A1B2C3D4E5F60718293A4B5C6D7E8F9',
  vehicleVin: 'WAUZZZ8V5KA098765',
  emailDetail: 'ops.night@example-cpo.eu',
  apiToken: 'tp_live_9f8e7d6c5b4a',
  basic: 'Y3AwMDE6c2VjcmV0LXBhc3M=',
  emaid: 'DE-8EO-C12345678-9',
  userId: 'fleet-user-4711',
} as const;

export const plantedValues: string[] = Object.values(planted);

/** The event a station would send, with the identifiers in its details and message. */
export const plantedEvent = (correlationId: string) => ({
  eventType: 'SESSION_DROP',
  service: 'EvseManager',
  errorCode: 'MREC14PilotFault',
  correlationId,
  priority: 'high',
  message: `Session of ${planted.email} stopped; vehicle ${planted.vinProse} lost CP; RFID ${planted.rfidProse} presented`,
  details: {
    IdTag: planted.idTagPascal,
    vehicleVin: planted.vehicleVin,
    email: planted.emailDetail,
    apiToken: planted.apiToken,
    userId: planted.userId,
    connector: '1',
  },
});

/** Log lines of the same session quoting the identifiers the way EVerest modules log them. */
export const plantedLogs = (correlationId: string) =>
  [
    `OCPP Authorize.req IdTag=${planted.idTagCamel} accepted`,
    `OCPP 2.0.1 AuthorizeRequest idToken=${planted.idToken201} type=ISO14443`,
    `auth: id_tag=${planted.idTagSnake} status=Accepted`,
    `EV connected, VIN ${planted.vinEurope} reported over ISO 15118`,
    `CSMS connect with Authorization: Bearer ${planted.bearer}`,
    `SecurityProfile 1: AuthorizationKey: ${planted.authorizationKey}`,
    `config reload password=${planted.password}`,
    `upstream proxy Authorization: Basic ${planted.basic}`,
    `contract certificate emaid ${planted.emaid} installed`,
  ].map((message) => ({ service: 'EvseManager', level: 'error', message, correlationId }));
