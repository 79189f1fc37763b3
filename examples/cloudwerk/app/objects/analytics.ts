// Cloudwerk's SQL analytics object (app/objects/analytics.ts → class Analytics, binding ANALYTICS).
import { defineDurableObject } from '@cloudwerk/durable-object'

interface AnalyticsState {
  initialized: boolean
}

export default defineDurableObject<AnalyticsState>({
  sqlite: true, // Enable SQLite

  init(ctx) {
    // Create tables on initialization
    ctx.sql.run(`
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        properties TEXT,
        timestamp INTEGER NOT NULL
      )
    `)
    ctx.sql.run(`
      CREATE INDEX IF NOT EXISTS idx_events_timestamp ON events (timestamp)
    `)

    return { initialized: true }
  },

  methods: {
    async trackEvent(name: string, properties?: Record<string, unknown>) {
      this.ctx.sql.run(
        'INSERT INTO events (name, properties, timestamp) VALUES (?, ?, ?)',
        [name, JSON.stringify(properties), Date.now()]
      )
    },

    async getRecentEvents(limit = 100) {
      const cursor = this.ctx.sql.exec(
        'SELECT * FROM events ORDER BY timestamp DESC LIMIT ?',
        [limit]
      )
      return cursor.toArray()
    },

    async getEventCounts(since: number) {
      const cursor = this.ctx.sql.exec(
        'SELECT name, COUNT(*) as count FROM events WHERE timestamp > ? GROUP BY name',
        [since]
      )
      return cursor.toArray()
    },
  },
})
