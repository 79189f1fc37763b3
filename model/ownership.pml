/*
 * The ownership protocol of a Dorm cluster (README "Cluster"), for one object and N nodes, as a
 * SPIN model. `model/check.sh` checks it, and checks that each deliberately broken variant (the
 * BROKEN_* switches) is rejected.
 *
 * What is modelled, as the code does it (src/cluster/):
 *   - PostgreSQL: each statement is one atomic step: registering or renewing a lease
 *     (node_lease.cc), taking or releasing the object (object_ownership.cc), the flusher's
 *     insert of a commit's log row, joined with `owners` at the commit's epoch
 *     (commit_batch.cc), and the restore's read of the log (object_restore.cc). PostgreSQL's row
 *     locks order the take against the flusher's FOR SHARE; here every statement is atomic.
 *   - Time: one clock, `now`, read by PostgreSQL and by every node (a duration measured on a
 *     node's monotonic clock equals PostgreSQL's; the margin is there for the difference in
 *     rate). It advances between any two steps, so a node can be paused for any time (SIGSTOP)
 *     between two of its steps, and a reply can take any time to arrive.
 *   - A node: registers; renews its lease (the time taken before the statement, the local
 *     deadline set to that time + TTL - MARGIN when the reply comes); loses the lease at its
 *     deadline, dropping the object; takes the object and restores it from the log; writes (the
 *     local commit, the flush statement, then the reply, which acknowledges the write: the output
 *     gate); serves reads (while its deadline has not passed, once its own writes are flushed:
 *     the output gate); releases the object. Each of these is a step of its own, and the node may
 *     crash between any two steps, losing everything but PostgreSQL.
 *
 * Invariants (assertions):
 *   FENCE   a log row is inserted only by the object's owner, at the epoch it holds: one writer
 *           per epoch, and epochs only grow along seq.
 *   DURABLE a restore finds every acknowledged write in the log.
 *   READ    a read sees exactly the log: no acknowledged write missing, and no write that could
 *           still be lost.
 */

#ifndef N
#define N 2
#endif
#define TTL 3
#define MARGIN 1
/* Bounds of the state space (model/check.sh may set larger ones). */
#ifndef MAXT
#define MAXT 6       /* the clock stops here */
#endif
#ifndef MAXW
#define MAXW 2       /* writes, all nodes together */
#endif
#ifndef MAXEPOCH
#define MAXEPOCH 3   /* takes, all nodes together */
#endif
#ifndef MAXCRASH
#define MAXCRASH 1   /* crashes, all nodes together */
#endif
#define NONE 255

#ifdef BROKEN_READ_PAST_DEADLINE
#define READ_ALLOWED true            /* reads without looking at the lease */
#else
#define READ_ALLOWED (now < deadline)
#endif

#ifdef BROKEN_NO_FENCE
#define FLUSH_FENCED true            /* inserts without joining owners at the commit's epoch */
#else
#define FLUSH_FENCED (owner == me && epoch == my_epoch)
#endif

/* PostgreSQL */
byte now = 0;
byte lease_until[N];      /* nodes.lease_until (a lease is live while lease_until > now) */
byte owner = NONE;        /* owners.node (NONE: no row yet, or released) */
byte epoch = 0;           /* owners.epoch */
byte nlog = 0;            /* log rows: seq 1..nlog */
byte log_epoch[MAXW + 1];
byte log_write[MAXW + 1]; /* which write the row holds */

byte crashes = 0;

/* What clients were told */
bool acked[MAXW + 1];     /* write id -> acknowledged */
byte next_write = 1;

/* Forgets the object (a dropped instance, a crash). Forgotten values are zeroed so that states
   that differ only in them are one state. */
inline drop() {
  holding = false; restored = false; my_epoch = 0;
  pending = false; flushed = false; inserted = false; pending_write = 0;
  i = 1;
  do
  :: i <= MAXW -> copy[i] = 0; i++
  :: else -> break
  od;
  i = 0; copy_len = 0
}

proctype Node(byte me) {
  /* The node's memory: lost on a crash. */
  byte deadline = 0;        /* the lease is valid here while now < deadline */
  bool renewing = false;    /* a renewal is in flight ... */
  bool renew_answered = false;
  bool renew_ok = false;
  byte started = 0;         /* ... which began at this time */
  bool holding = false;     /* the object is open here ... */
  bool restored = false;    /* ... and restored from the log */
  byte my_epoch = 0;
  byte copy[MAXW + 1];      /* the object's local database: the writes it holds, in order */
  byte copy_len = 0;
  bool pending = false;     /* a local commit ... */
  bool flushed = false;     /* ... whose flush statement ran ... */
  bool inserted = false;    /* ... and inserted its row */
  byte pending_write = 0;
  byte i = 0;
  bool found = false;
  byte k = 0;

  /* Every point of the loop is a valid end: the clock stops at MAXT, and nodes then wait. */
end:
  do
  /* Register, or register anew after losing the lease: only when no live lease holds the name.
     The objects held under the lost lease were dropped (on_lost); they are taken anew. */
  :: atomic { deadline <= now && lease_until[me] <= now && !renewing && now < MAXT ->
       drop(); lease_until[me] = now + TTL; deadline = now + TTL - MARGIN }

  /* Renew: the time is taken, the statement runs later, its reply comes later still. */
  :: atomic { now < deadline && !renewing && now < MAXT -> renewing = true; started = now }
  :: atomic { renewing && !renew_answered ->
       renew_answered = true;
       if
       :: lease_until[me] > now -> lease_until[me] = now + TTL; renew_ok = true
       :: else -> renew_ok = false  /* ran out on PostgreSQL's clock: never revived */
       fi }
  :: atomic { renew_answered ->
       if
       :: renew_ok ->
#ifdef BROKEN_DEADLINE_FROM_REPLY
          deadline = now + TTL - MARGIN   /* counted from the reply, not from the request */
#else
          deadline = started + TTL - MARGIN
#endif
       :: else -> skip
       fi;
       renewing = false; renew_answered = false; renew_ok = false; started = 0 }

  /* The local deadline passed: the lease is lost, and the object with it. */
  :: atomic { holding && now >= deadline -> drop() }

  /* Take the object: if there is no owner, it was released, it is ours, or its owner's lease ran
     out, and our own lease is live on PostgreSQL's clock. */
  :: atomic { !holding && now < deadline && epoch < MAXEPOCH && lease_until[me] > now ->
       if
#ifdef BROKEN_TAKE_IGNORES_LEASE
       :: true ->
#else
       :: owner == NONE || owner == me || lease_until[owner] <= now ->
#endif
          owner = me; epoch++; my_epoch = epoch; holding = true
       :: else -> skip
       fi }

  /* Restore: read the log, if still the owner at that epoch; else give up. */
  :: atomic { holding && !restored ->
       if
       :: owner == me && epoch == my_epoch ->
          i = 1;
          do
          :: i <= nlog -> copy[i] = log_write[i]; i++
          :: else -> break
          od;
          copy_len = nlog;
          restored = true;
          /* DURABLE */
          i = 1;
          do
          :: i < next_write ->
             if
             :: acked[i] ->
                found = false;
                k = 1;
                do
                :: k <= copy_len -> found = found || copy[k] == i; k++
                :: else -> break
                od;
                assert(found)
             :: else -> skip
             fi;
             i++
          :: else -> break
          od;
          i = 0; k = 0; found = false
       :: else -> drop()
       fi }

  /* A write: the local commit ... */
  :: atomic { restored && !pending && now < deadline && next_write <= MAXW ->
       pending_write = next_write; next_write++;
       copy_len++; copy[copy_len] = pending_write; pending = true
#ifdef BROKEN_ACK_BEFORE_FLUSH
       ; acked[pending_write] = true       /* acknowledged before it is durable */
#endif
     }
  /* ... the flush: one statement, inserting the row only where owners names this node at the
     commit's epoch, and only if the seq is free (ON CONFLICT DO NOTHING) ... */
  :: atomic { pending && !flushed ->
       flushed = true;
       if
       :: FLUSH_FENCED && copy_len == nlog + 1 ->
          /* FENCE */
          assert(owner == me && epoch == my_epoch);
          assert(nlog == 0 || log_epoch[nlog] <= my_epoch);
          nlog++; log_epoch[nlog] = my_epoch; log_write[nlog] = pending_write; inserted = true
       :: else -> inserted = false
       fi }
  /* ... and its reply: the write is acknowledged, or the object dropped (its held responses
     fail with a retryable error). */
  :: atomic { flushed ->
       if
       :: inserted -> acked[pending_write] = true;
          pending = false; flushed = false; inserted = false; pending_write = 0
       :: else -> drop()
       fi }

  /* A read, answered from the local copy. READ */
  :: atomic { restored && !pending && READ_ALLOWED ->
       assert(copy_len == nlog);
       i = 1;
       do
       :: i <= nlog -> assert(copy[i] == log_write[i]); i++
       :: else -> break
       od;
       i = 0 }

  /* Release the object (a graceful stop): only where it is still ours at our epoch. */
  :: atomic { restored && !pending ->
       if
       :: owner == me && epoch == my_epoch -> owner = NONE
       :: else -> skip
       fi;
       drop() }

  /* Crash: everything but PostgreSQL is lost; the process restarts with an empty memory. */
  :: atomic { crashes < MAXCRASH ->
       crashes++; drop(); deadline = 0;
       renewing = false; renew_answered = false; renew_ok = false; started = 0 }
  od
}

/* The clock: time passes between any two steps of anyone. */
active proctype Clock() {
end:
  do
  :: atomic { now < MAXT -> now++ }
  od
}

init {
  atomic {
    byte n = 0;
    do
    :: n < N -> run Node(n); n++
    :: else -> break
    od
  }
}
