// Cloudwerk's rate limiter (app/objects/rate-limiter.ts → class RateLimiter, binding RATE_LIMITER).
import { defineDurableObject } from '@cloudwerk/durable-object'

interface RateLimitState {
  requests: number[]
}

export default defineDurableObject<RateLimitState>({
  init: () => ({ requests: [] }),

  methods: {
    async check(limit: number, windowMs: number) {
      const now = Date.now()
      const windowStart = now - windowMs

      // Filter to requests in window
      this.state.requests = this.state.requests.filter(t => t > windowStart)

      if (this.state.requests.length >= limit) {
        return {
          allowed: false,
          remaining: 0,
          resetAt: this.state.requests[0] + windowMs,
        }
      }

      this.state.requests.push(now)

      return {
        allowed: true,
        remaining: limit - this.state.requests.length,
        resetAt: this.state.requests[0] + windowMs,
      }
    },

    async reset() {
      this.state.requests = []
    },
  },
})
