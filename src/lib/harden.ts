/**
 * Defence in depth against prototype pollution, for whatever input check might one day
 * miss: `__proto__` as an accessor throws, which is what `node --disable-proto=throw`
 * does, done here so that every way of starting the bridge has it (the CLI, `npm start`,
 * the image, `npx`). Object.prototype is not frozen: libraries the bridge runs on
 * (ipaddr.js under Fastify's trustProxy, bl under the Docker client) assign `toString` on
 * their own objects, which a frozen prototype turns into a TypeError (the "override
 * mistake"); `constructor` and `prototype` are refused in every input instead.
 */
export function hardenPrototypes(): void {
  const proto = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__');
  if (!proto?.configurable) return;
  const refuse = (): never => {
    throw Object.assign(new TypeError('Object.prototype.__proto__ is disabled in this process'), { code: 'ERR_PROTO_ACCESS' });
  };
  Object.defineProperty(Object.prototype, '__proto__', { get: refuse, set: refuse, configurable: false });
}

/** Whether this process runs hardened (for the startup log and the security tests). */
export function prototypesHardened(): boolean {
  try {
    void ({} as { __proto__?: unknown }).__proto__;
    return false;
  } catch {
    return true;
  }
}
