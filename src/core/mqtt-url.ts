/** Connection fields of an mqtt(s):// or ws(s):// URL, for mqtt.js's options object. */
export interface MqttEndpoint {
  host: string;
  port: number;
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp';
  path?: string;
  username?: string;
  password?: string;
}

/**
 * Host/port/protocol fields rather than a URL string: mqtt.js's URL form goes through url.parse(),
 * which warns (DEP0169) in bundled code.
 */
export function mqttEndpoint(url: string): MqttEndpoint {
  const u = new URL(url);
  const protocol = u.protocol.replace(':', '') as MqttEndpoint['protocol'];
  const secure = protocol === 'mqtts' || protocol === 'wss';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : protocol === 'ws' ? 80 : protocol === 'wss' ? 443 : secure ? 8883 : 1883,
    protocol,
    path: protocol === 'ws' || protocol === 'wss' ? u.pathname : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}
