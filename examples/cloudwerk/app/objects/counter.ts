// Cloudwerk's counter (app/objects/counter.ts → class Counter, binding COUNTER), unmodified.
import { defineDurableObject } from '@cloudwerk/durable-object'

interface CounterState {
  value: number
  lastUpdated: number
}

export default defineDurableObject<CounterState>({
  init(ctx) {
    return {
      value: 0,
      lastUpdated: Date.now(),
    }
  },

  methods: {
    async increment(amount = 1) {
      this.state.value += amount
      this.state.lastUpdated = Date.now()
      return this.state.value
    },

    async decrement(amount = 1) {
      this.state.value = Math.max(0, this.state.value - amount)
      this.state.lastUpdated = Date.now()
      return this.state.value
    },

    async getValue() {
      return this.state.value
    },

    async reset() {
      this.state.value = 0
      this.state.lastUpdated = Date.now()
      return 0
    },
  },
})
