// DurableObjectId as seen inside the object (`ctx.id`). As in workerd it has no toJSON():
// JSON.stringify(ctx.id) gives "{}"; toString() gives the hex id.
export class DurableObjectId {
  #hex;
  #name;
  constructor(hex, name) {
    this.#hex = hex;
    this.#name = name;
  }
  get name() {
    return this.#name;
  }
  toString() {
    return this.#hex;
  }
  equals(other) {
    return other instanceof DurableObjectId && other.#hex === this.#hex;
  }
}
