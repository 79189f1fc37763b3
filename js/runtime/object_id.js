// DurableObjectId as seen inside the object (`ctx.id`).
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
  toJSON() {
    return this.#hex;
  }
}
