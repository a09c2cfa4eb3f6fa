/*
 * A model of the registrar's protocol (DESIGN.md, Semantics 2-6): epochs, the master lease, the
 * re-registration window, the liveness floor, the guard's holds and fenced marking, with several
 * stateless master instances sharing one store, agents that are alive or dead, crashes, stalls,
 * store outages, lease lapses and clock skew. model/README.md says what every variable stands for,
 * what is abstracted away, and how to run each check.
 *
 * Checks (choose one with spin -DCHECK_...):
 *   CHECK_NFU     no false unreachable: an alive agent (accepted every H ticks of service) is never marked
 *   CHECK_EPOCH   one epoch winner: every new epoch is greater than any before (and the epoch never goes back)
 *   CHECK_DETECT  eventual detection: once masters keep serving, a dead agent is marked within BOUND ticks
 * Mutations (each breaks a rule): BUG_NO_FLOOR, BUG_NO_CAS, BUG_GAP_ALWAYS, BUG_GAP_KEEPS_DEADLINE and
 * BUG_NOW_AT_START (findings F1 and F2 before their fixes) make their check fail;
 * BUG_NO_FENCE does not (README: the agents' own version checks already stop stale marks).
 * Environment variants: START_LAPSED, NO_OUTAGE_IN_WINDOW, PERCLOCK_SKEW, SERVED_PREMISE (README).
 */

/* ---------------- constants, in ticks (override with spin -DNAME=value) ---------------- */
#ifndef NI
#define NI 2            /* master instances */
#endif
#ifndef NA
#define NA 2            /* agents */
#endif
#ifndef H
#define H 2             /* heartbeatInterval */
#endif
#ifndef G
#define G 2             /* livenessGranularity */
#endif
#ifndef I
#define I 1             /* sweepInterval */
#endif
#ifndef S
#define S 1             /* maxClockSkew */
#endif
#ifndef L
#define L 3             /* masterLease: start-up requires L >= 2I + S */
#endif
#ifndef T
#define T 7             /* agentTimeout: start-up requires T > 2I + H + 2S */
#endif
#ifndef R
#define R 10            /* reregisterTimeout */
#endif
#ifndef MIN
#define MIN 3           /* recoveryUnreachableMinimum */
#endif
#define LIMNUM 1        /* recoveryUnreachableLimit = LIMNUM / LIMDEN (50%) */
#define LIMDEN 2
#define RECN (NA + 1)    /* room in the model's recentMarks list (README: when it is full) */
#define PERIOD (G + H + I)  /* the liveness guard's trailing period */
#define GAP (2 * I + S)     /* the gap test: sweep starts further apart than this raise the floor */

#ifndef HORIZON
#define HORIZON 16      /* ticks explored after T0 */
#endif
#define T0 (L + 2 * S + 2)  /* the first tick: every time in the model is >= 1, and 0 can mean "unset" */
#define MAXT (T0 + HORIZON)

/* the environment's budgets */
#ifndef NCRASH
#define NCRASH 1        /* instance crashes (a restarted instance may come back with another clock) */
#endif
#ifndef NOUT
#define NOUT 2          /* store outages (no API and no sweeps while the store is down) */
#endif
#ifndef OUTSEP
#define OUTSEP 0        /* serving ticks required between two outages (0: none) */
#endif
#ifndef NDEATH
#define NDEATH NA       /* agents that may die (CHECK_DETECT: agent 0 only) */
#endif
#ifndef MAXSTALL
#define MAXSTALL 1      /* ticks a sweep may stay in progress (waiting for the store, paused) before it fails */
#endif
#ifndef NLAPSE
#define NLAPSE 1        /* periods in which no sweeper runs */
#endif
#ifndef NSTALL
#define NSTALL 1        /* sweeps that pause between two of their steps */
#endif
#ifndef NRELEASE
#define NRELEASE 1      /* operator releases of a hold */
#endif

/* clock offsets: an instance's clock reads t + off - S */
#ifdef PERCLOCK_SKEW
#define OFFMIN 0        /* offsets in -S..S: each clock within S of the true time, two clocks up to 2S apart */
#else
#define OFFMIN S        /* offsets in 0..S: any two clocks differ by at most S (DESIGN: "the clock difference between instances") */
#endif
#define OFFMAX (2 * S)

#ifdef CHECK_DETECT
#ifndef CALMBY
#define CALMBY (T0 + 5)     /* faults stop (masters keep serving) by this tick */
#endif
#ifndef DEATHBY
#define DEATHBY (T0 + 5)    /* agent 0 dies by this tick */
#endif
#ifndef BOUND
#define BOUND (T + G + I)   /* DESIGN rule 5: silent for agentTimeout + granularity + sweepInterval */
#endif
#undef MAXT
#define MAXT (max2(CALMBY, DEATHBY) + BOUND + 1)
#endif

#define max2(x, y) ((x) > (y) -> (x) : (y))

/*
 * Witnesses: with spin -DW_<NAME>, an assertion fails where the event happens, so that a run shows
 * the event is reachable (the checks are not vacuous): GAP (a gap raises the floor), EPOCH (a new
 * epoch), REREG (an agent re-registers), CLOSE (an agent is marked for missing a window), MARK (any
 * mark), HOLD (the guard holds marking), RELEASE (an operator releases), LOST (a sweep loses the
 * master write), FENCED (a planned mark is stopped by the lease or the fence), STALE (a heartbeat
 * is judged on the epoch before the current one).
 */
#ifdef W_GAP
#define WIT_GAP assert(false)
#else
#define WIT_GAP skip
#endif
#ifdef W_EPOCH
#define WIT_EPOCH assert(false)
#else
#define WIT_EPOCH skip
#endif
#ifdef W_REREG
#define WIT_REREG assert(false)
#else
#define WIT_REREG skip
#endif
#ifdef W_CLOSE
#define WIT_CLOSE assert(false)
#else
#define WIT_CLOSE skip
#endif
#ifdef W_MARK
#define WIT_MARK assert(false)
#else
#define WIT_MARK skip
#endif
#ifdef W_HOLD
#define WIT_HOLD assert(false)
#else
#define WIT_HOLD skip
#endif
#ifdef W_RELEASE
#define WIT_RELEASE assert(false)
#else
#define WIT_RELEASE skip
#endif
#ifdef W_LOST
#define WIT_LOST assert(false)
#else
#define WIT_LOST skip
#endif
#ifdef W_FENCED
#define WIT_FENCED assert(false)
#else
#define WIT_FENCED skip
#endif
#ifdef W_STALE
#define WIT_STALE assert(false)
#else
#define WIT_STALE skip
#endif

/* phases of a sweep */
#define IDLE 0
#define READ 1      /* `now` taken, master not yet read */
#define WRITE 2     /* master read; the scan, the plan and the master write not yet done */
#define MARK 3      /* master written: marks left to commit */

/* agent status, recovery state */
#define AD 1        /* admitted */
#define UN 2        /* unreachable */
#define DONE 0
#define RECOVERING 1
#define HELD 2

/* ---------------- the store ---------------- */
typedef Master {
  byte epoch;
  byte lease;       /* leaseExpiresAt */
  byte last;        /* lastSweepAt */
  byte floor;       /* livenessFloor */
  byte started;     /* startedAt */
  byte rstate;      /* recovery.state */
  byte deadline;    /* recovery.deadline (0: unset) */
  byte admOpen;     /* recovery.admittedAtOpen (0: unset, see hasAdm) */
  bool hasAdm;
  bool wHold;       /* recovery.windowHold */
  bool lHold;       /* recovery.livenessHold */
  byte lRecent;     /* livenessHold.recentMarks */
  byte relAt;       /* recovery.releasedAt (0: unset) */
  byte recAt[RECN]; /* recentMarks: { at, count } (count 0: empty slot) */
  byte recCnt[RECN]
};

Master M;           /* the `master` record */
byte aStatus[NA];   /* agents/<id>: status */
byte aEpoch[NA];    /*   epoch */
byte aSeen[NA];     /*   lastSeenAt */
bool storeUp = true;
/*
 * Versions. A compare-and-set only asks "changed since I read it?", so instead of counters (which
 * would make every write a new state) each sweep in progress keeps dirty bits: master written since
 * it read it, and (a bit per agent) agent records written since it scanned them.
 */
bool mStale[NI];
byte aStale[NI];

/* ---------------- the world ---------------- */
byte t = T0;        /* global time (ticks) */
bool up[NI];        /* instance running (serves the API and sweeps) */
byte nUp = NI;
byte off[NI];       /* clock offset + S */
byte prevEpoch;     /* the epoch before the last new one: request handlers may still see it ... */
byte staleTtl;      /* ... for this many more ticks (their master cache lives at most S, rule 3) */
byte ph[NI];        /* phase of its sweep */
byte sNow[NI];      /* its sweep's `now`: when the store answered its read of master */
byte sActBy[NI];    /* leaseExpiresAt - S of the master it wrote: it marks only before this, on its clock */
byte sMarks[NI];    /* agents it planned to mark and has not yet (a bitmask) */
byte sAge[NI];      /* ticks since it started: beyond MAXSTALL it fails (withRetry's deadline) */
byte sinceStart[NI];/* ticks since its last sweep started, up to I (sweeps start start-to-start every I) */
byte nCrash, nOut, nDeath, nRelease, nStall, nLapse;
bool sweepOff;      /* no sweeper runs (a schedule that does not fire): the lease lapses while the API serves */
byte sinceUp = OUTSEP;  /* ticks of service since the store came back, up to OUTSEP */

bool alive[NA];     /* the agent runs (dead agents never come back) */
byte agEpoch[NA];   /* the epoch the agent believes in */
bool rereg[NA];     /* it was told 409 reregister: its next contact re-registers */
byte served[NA];    /* ticks since its last contact (SERVED_PREMISE: ticks in which the store served); at H it owes one */

/* ghosts */
byte maxEpoch = 1;  /* the greatest epoch ever written */
#ifdef CHECK_DETECT
bool calm;          /* from now on: store up, every instance up and sweeping every I, no stalls */
byte calmAt, deadAt;
#endif

#define clk(i) (t + off[i] - S)

/* a running instance starts a sweep every I ticks (after the one in progress), unless no sweeper runs */
#define mustSweep(i) (up[i] && !sweepOff && ph[i] == IDLE && sinceStart[i] >= I)
#if NI == 2
#define anyMustSweep (mustSweep(0) || mustSweep(1))
#else
#define anyMustSweep (mustSweep(0) || mustSweep(1) || mustSweep(2))
#endif

#ifdef NO_OUTAGE_IN_WINDOW
#define WINDOWCALM && M.rstate == DONE    /* no outage begins while a window is open (or held) */
#else
#define WINDOWCALM
#endif

#ifdef CHECK_DETECT
#define NOTCALM && !calm
#else
#define NOTCALM
#endif

#if NA == 1
#define anyDue (alive[0] && served[0] >= H)
#elif NA == 2
#define anyDue ((alive[0] && served[0] >= H) || (alive[1] && served[1] >= H))
#else
#define anyDue ((alive[0] && served[0] >= H) || (alive[1] && served[1] >= H) || (alive[2] && served[2] >= H))
#endif

#ifdef CHECK_DETECT
#define CALMSWEPT && (!calm || allSwept)   /* once calm, every instance has swept in this tick */
#else
#define CALMSWEPT
#endif
#ifdef CHECK_DETECT
#define swept(i) (up[i] && ph[i] == IDLE && sinceStart[i] < I)
#if NI == 2
#define allSwept (swept(0) && swept(1))
#else
#define allSwept (swept(0) && swept(1) && swept(2))
#endif
#endif

/* a write to master or to agent j makes the reads of the sweeps in progress stale */
inline masterWritten() {
  for (k : 0 .. NI - 1) { mStale[k] = (ph[k] == WRITE || ph[k] == MARK) }
  k = 0
}
inline agentWritten(x) {
  for (k : 0 .. NI - 1) { if :: ph[k] == MARK -> aStale[k] = aStale[k] | (1 << x) :: else fi }
  k = 0
}

inline pickOffset(x) {
  x = OFFMIN;
  do
  :: x < OFFMAX -> x++
  :: break
  od
}

inline copyMaster(dst, src) {
  dst.epoch = src.epoch; dst.lease = src.lease; dst.last = src.last; dst.floor = src.floor;
  dst.started = src.started; dst.rstate = src.rstate; dst.deadline = src.deadline;
  dst.admOpen = src.admOpen; dst.hasAdm = src.hasAdm; dst.wHold = src.wHold; dst.lHold = src.lHold;
  dst.lRecent = src.lRecent; dst.relAt = src.relAt;
  for (k : 0 .. RECN - 1) { dst.recAt[k] = src.recAt[k]; dst.recCnt[k] = src.recCnt[k] }
  k = 0
}

inline clearMaster(dst) {
  dst.epoch = 0; dst.lease = 0; dst.last = 0; dst.floor = 0; dst.started = 0; dst.rstate = 0;
  dst.deadline = 0; dst.admOpen = 0; dst.hasAdm = false; dst.wHold = false; dst.lHold = false;
  dst.lRecent = 0; dst.relAt = 0;
  for (k : 0 .. RECN - 1) { dst.recAt[k] = 0; dst.recCnt[k] = 0 }
  k = 0
}

/* the guard of rule 4 (sweep.ts guardTrips) */
#define trips(missing, base) ((missing) * LIMDEN > LIMNUM * (base) && (missing) >= MIN)

/* kinds of verdict, per agent */
#define NONE 0
#define SILENT 1
#define MISSED 2
#define RELEASED 3

/*
 * planSweep (sweep.ts) with renewLease (master.ts), on the master record read into m, the agents as
 * scanned, and the sweep's `now`: m becomes the record to write, `marks` a bitmask of agents to mark.
 */
inline plan() {
  /* renewLease */
  adm = 0;
  for (k : 0 .. NA - 1) { if :: aStatus[k] == AD -> adm++ :: else fi }
  k = 0;
  if
  :: sNow[i] > m.lease + S ->                             /* leaseLapsed: a new epoch, a window */
     newEpoch = true;
     m.deadline = sNow[i] + R;
     if
     :: m.wHold -> m.lHold = false; m.lRecent = 0     /* a window hold survives new epochs (and its base) */
     :: else -> m.hasAdm = true; m.admOpen = adm; m.relAt = 0; m.lHold = false; m.lRecent = 0
     fi;
     m.rstate = (m.wHold -> HELD : RECOVERING);
     m.epoch = max2(m.epoch + 1, sNow[i]); WIT_EPOCH;
     m.floor = sNow[i];
     m.started = sNow[i]
  :: else ->
#ifdef BUG_GAP_ALWAYS
     m.floor = sNow[i]
#else
     if
#ifndef BUG_NO_FLOOR
     :: sNow[i] - m.last > GAP ->                      /* silence during a gap is never held against agents */
#ifndef BUG_GAP_KEEPS_DEADLINE
        if                                             /* ... nor a re-registration due in it (finding F1, fixed) */
        :: m.rstate != DONE && m.deadline != 0 && m.deadline > m.last -> m.deadline = max2(m.deadline, sNow[i] + T)
        :: else
        fi;
#endif
        m.floor = sNow[i]; WIT_GAP
#endif
     :: else
     fi
#endif
  fi;
  m.lease = sNow[i] + L;
  m.last = sNow[i];

  /* overdueAgents */
  open = (m.rstate != DONE && m.deadline != 0 && sNow[i] < m.deadline);
  for (k : 0 .. NA - 1) {
    verdict[k] = NONE;
    if
    :: aStatus[k] == AD && aEpoch[k] != m.epoch && !open ->
       verdict[k] = MISSED;
       since = (m.deadline != 0 -> m.deadline : m.started)
    :: aStatus[k] == AD && aEpoch[k] == m.epoch && max2(aSeen[k], m.floor) + T + G < sNow[i] ->
       verdict[k] = SILENT;
       since = max2(aSeen[k], m.floor) + T + G
    :: else
    fi;
    if
    :: verdict[k] != NONE && m.relAt != 0 && since <= m.relAt -> verdict[k] = RELEASED
    :: else
    fi;
    since = 0
  }
  k = 0;
  nMissed = 0; nSilent = 0; nReleased = 0; sMarks[i] = 0;
  for (k : 0 .. NA - 1) {
    if
    :: verdict[k] == MISSED -> nMissed++
    :: verdict[k] == SILENT -> nSilent++
    :: verdict[k] == RELEASED -> nReleased++; sMarks[i] = sMarks[i] | (1 << k)
    :: else
    fi
  }
  k = 0;
  base = (m.hasAdm -> m.admOpen : adm);
  if
  :: open -> skip                                     /* nobody has missed an open window yet */
  :: !open && nMissed > 0 && trips(nMissed, base) -> m.wHold = true; WIT_HOLD
  :: else ->
     m.wHold = false;
     for (k : 0 .. NA - 1) { if :: verdict[k] == MISSED -> sMarks[i] = sMarks[i] | (1 << k) :: else fi }
     k = 0
  fi;
  /* the liveness guard over the trailing period */
  recent = 0;
  for (k : 0 .. RECN - 1) {
    if
    :: m.recCnt[k] != 0 && sNow[i] - m.recAt[k] < PERIOD -> recent = recent + m.recCnt[k]
    :: m.recCnt[k] != 0 && sNow[i] - m.recAt[k] >= PERIOD -> m.recAt[k] = 0; m.recCnt[k] = 0
    :: else
    fi
  }
  k = 0;
  if
  :: m.lHold -> recent = m.lRecent
  :: else
  fi;
  if
  :: nSilent > 0 && trips(recent + nSilent, adm + recent) -> m.lRecent = recent; m.lHold = true; WIT_HOLD
  :: else ->
     m.lHold = false; m.lRecent = 0;
     for (k : 0 .. NA - 1) { if :: verdict[k] == SILENT -> sMarks[i] = sMarks[i] | (1 << k) :: else fi }
     k = 0
  fi;
  m.rstate = (m.wHold || m.lHold -> HELD : (open -> RECOVERING : DONE));
  /* recentMarks: this sweep's count, released agents not counted */
  counted = 0;
  for (k : 0 .. NA - 1) {
    if :: (sMarks[i] & (1 << k)) != 0 && verdict[k] != RELEASED -> counted++ :: else fi
  }
  k = 0;
  if
  :: counted > 0 ->
     /* compact the list, then append (when it is full, the two oldest entries become one) */
     for (k : 0 .. RECN - 1) {
       if
       :: m.recCnt[k] == 0 ->
          for (j : k + 1 .. RECN - 1) {
            if :: m.recCnt[j] != 0 -> m.recAt[k] = m.recAt[j]; m.recCnt[k] = m.recCnt[j]; m.recAt[j] = 0; m.recCnt[j] = 0; break :: else fi
          }
       :: else
       fi
     }
     k = 0; j = 0;
     do
     :: j < RECN && m.recCnt[j] != 0 -> j++
     :: else -> break
     od;
     if
     :: j == RECN ->
        m.recCnt[0] = m.recCnt[0] + m.recCnt[1];
        for (k : 1 .. RECN - 2) { m.recAt[k] = m.recAt[k + 1]; m.recCnt[k] = m.recCnt[k + 1] }
        k = 0; j = RECN - 1
     :: else
     fi;
     m.recAt[j] = sNow[i]; m.recCnt[j] = counted;
     j = 0
  :: else
  fi;
  for (k : 0 .. NA - 1) { verdict[k] = NONE }
  k = 0;
  adm = 0; base = 0; recent = 0; counted = 0; nMissed = 0; nSilent = 0; nReleased = 0; open = false
}

inline endSweep() {
  ph[i] = IDLE; sAge[i] = 0; sNow[i] = 0; sActBy[i] = 0; sMarks[i] = 0; j = 0;
  mStale[i] = false; aStale[i] = 0
#ifdef BUG_NO_CAS
  ; clearMaster(snap)
#endif
}

/* one step of a sweep in progress, with the store up */
inline stepSweep() {
  if
  /* it reads master; a sweep started less than I/2 ago (and a valid lease) makes it skip (rule 3) */
  :: ph[i] == READ ->
     mStale[i] = false;
#ifndef BUG_NOW_AT_START
     sNow[i] = clk(i);                             /* its time: when the store answered (finding F2, fixed) */
#endif
#ifdef BUG_NO_CAS
     copyMaster(snap, M);
#endif
     if
     :: !(sNow[i] > M.lease + S) && 2 * (sNow[i] - M.last) < I -> printf("t=%d I%d: skips\n", t, i); endSweep()
     :: else -> ph[i] = WRITE
     fi
  /*
   * It scans the agents, plans, and writes master expecting the version it read. Unless master
   * changed since the read (then it lost), master sNow[i] is what it read: plan() works on a copy of it.
   */
  :: ph[i] == WRITE ->
#ifdef BUG_NO_CAS
     copyMaster(m, snap);                           /* writes whatever it read, changed or not */
     if :: true ->
#else
     if
     :: !mStale[i] ->
        copyMaster(m, M);
#endif
        plan();
#ifdef CHECK_EPOCH
        assert(m.epoch >= maxEpoch);                /* the epoch never goes back ... */
        assert(!newEpoch || m.epoch > maxEpoch);    /* ... and a new one is greater than any before */
#endif
        maxEpoch = max2(maxEpoch, m.epoch);
        if
        :: m.epoch != M.epoch -> prevEpoch = M.epoch; staleTtl = S + 1
        :: else
        fi;
        printf("t=%d I%d: writes master epoch=%d lease=%d last=%d floor=%d rstate=%d deadline=%d wHold=%d lHold=%d marks=%d\n", t, i, m.epoch, m.lease, m.last, m.floor, m.rstate, m.deadline, m.wHold, m.lHold, sMarks[i]);
        copyMaster(M, m);
        masterWritten(); mStale[i] = false;         /* its fence: the version it wrote */
        aStale[i] = 0;                              /* the agents as scanned */
        sActBy[i] = m.lease - S;                        /* rule 6: act only before leaseExpiresAt - S */
        clearMaster(m); newEpoch = false;
        if
        :: sMarks[i] != 0 -> ph[i] = MARK
        :: else -> endSweep()
        fi
     :: else -> printf("t=%d I%d: lost (master changed)\n", t, i); WIT_LOST; endSweep()   /* another sweeper wrote master first */
     fi
  /*
   * One mark: only while the lease is good on this instance's clock, in a commit with a check on
   * master at the version it wrote, expecting the agent's record as scanned.
   */
  :: ph[i] == MARK ->
     j = 0;
     do
     :: (sMarks[i] & (1 << j)) == 0 -> j++
     :: else -> break
     od;
     if
#ifdef BUG_NO_FENCE
     :: (aStale[i] & (1 << j)) == 0 ->
#else
     :: clk(i) < sActBy[i] && !mStale[i] && (aStale[i] & (1 << j)) == 0 ->
#endif
#ifdef CHECK_NFU
        assert(!alive[j]);                          /* no false unreachable */
#endif
        printf("t=%d I%d: marks agent %d unreachable (lastSeenAt=%d, epoch %d)\n", t, i, j, aSeen[j], aEpoch[j]);
        WIT_MARK;
        if :: aEpoch[j] != M.epoch -> WIT_CLOSE :: else fi;
        aStatus[j] = UN; agentWritten(j);
        sMarks[i] = sMarks[i] & ~(1 << j)
#ifdef BUG_NO_FENCE
     :: (aStale[i] & (1 << j)) != 0 ->
#else
     :: clk(i) < sActBy[i] && !mStale[i] && (aStale[i] & (1 << j)) != 0 ->
#endif
        sMarks[i] = sMarks[i] & ~(1 << j)                   /* changed since the scan: the next sweep judges it */
     :: else -> sMarks[i] = 0; WIT_FENCED                 /* out of lease, or fenced out: it stops */
     fi;
     if
     :: sMarks[i] != 0 -> skip
     :: else -> endSweep()
     fi
  fi
}

/*
 * A sweep runs without interruption unless it stalls: it may pause between any two steps (NSTALL
 * times in a run, e.g. a GC pause or a slow store call), and it waits while the store is down.
 * A stalled sweep resumes at any later moment, or never (its instance crashes).
 */
inline runSweep() {
  do
  :: ph[i] == IDLE -> break
  :: ph[i] != IDLE && !storeUp -> break
  :: ph[i] != IDLE && storeUp -> d_step { stepSweep() }
  :: ph[i] != IDLE && nStall < NSTALL NOTCALM -> nStall++; printf("t=%d I%d: stalls in phase %d\n", t, i, ph[i]); break
  od
}

proctype Instance(byte i) {
  byte j, k, adm, base, recent, counted, since;
  byte nMissed, nSilent, nReleased;
  bool open, newEpoch;
  byte verdict[NA];
  Master m;
#ifdef BUG_NO_CAS
  Master snap;
#endif
end:
  do
  /* a scheduled sweep starts (its `sNow[i]` is taken again when the store answers its read of master) */
  :: atomic { mustSweep(i) -> d_step { sinceStart[i] = 0; sNow[i] = clk(i); ph[i] = READ; printf("t=%d I%d: sweep starts, now=%d\n", t, i, sNow[i]) }; runSweep() }
  /* a stalled sweep goes on */
  :: atomic { up[i] && ph[i] != IDLE && storeUp -> runSweep() }
  od
}

/* the instance that serves a request: any running one */
inline pickInstance(x) {
  if
  :: up[0] -> x = 0
  :: up[1] -> x = 1
#if NI > 2
  :: up[2] -> x = 2
#endif
  fi
}

proctype Agent(byte a) {
  byte x, nw, e, k;
end:
  do
  /* a contact: at most one per tick, whenever the store (hence the API) serves */
  :: atomic { alive[a] && storeUp && served[a] > 0 ->
       pickInstance(x);
       /*
        * The handler's master is cached for at most S: within S of a new epoch it may still see
        * the one before, unless the agent's record already holds a newer one (epochFor reads fresh).
        */
       if
       :: !rereg[a] && staleTtl > 0 && aEpoch[a] <= prevEpoch -> e = prevEpoch; WIT_STALE
       :: true -> e = M.epoch
       fi;
       d_step {
       nw = clk(x);
       if
       :: rereg[a] ->                                /* re-register: master read fresh (rule 7) */
          e = M.epoch;
          aStatus[a] = AD; aEpoch[a] = e; aSeen[a] = nw; agentWritten(a);
          agEpoch[a] = e; rereg[a] = false;
          printf("t=%d A%d: re-registers via I%d: epoch %d, lastSeenAt=%d\n", t, a, x, e, nw);
          WIT_REREG
       :: else ->                                    /* heartbeat (agents.ts heartbeat, acceptHeartbeat) */
          if
          :: aStatus[a] == UN -> rereg[a] = true; printf("t=%d A%d: 409 (unreachable)\n", t, a)
          :: aStatus[a] == AD && (aEpoch[a] != e || agEpoch[a] != e) -> rereg[a] = true; printf("t=%d A%d: 409 reregister via I%d (epoch %d)\n", t, a, x, e)
          :: aStatus[a] == AD && aEpoch[a] == e && agEpoch[a] == e && nw >= aSeen[a] + G ->
             aSeen[a] = nw; agentWritten(a);           /* a lastSeenAt write is due */
             printf("t=%d A%d: heartbeat via I%d, lastSeenAt=%d\n", t, a, x, nw)
          :: else -> printf("t=%d A%d: heartbeat via I%d, no write due\n", t, a, x)
          fi
       fi;
       served[a] = 0; x = 0; nw = 0; e = 0 } }
  od
}

/* an operator releases a hold: a read-and-compare write on master (master.ts releaseHold) */
#ifndef CHECK_DETECT
proctype Operator() {
  byte x, nw, k;
end:
  do
  :: atomic { storeUp && M.rstate == HELD && nRelease < NRELEASE ->
       pickInstance(x);
       d_step {
       nw = clk(x);
       M.relAt = nw; M.wHold = false; M.lHold = false; M.lRecent = 0;
       M.rstate = (M.deadline != 0 && nw < M.deadline -> RECOVERING : DONE);
       masterWritten(); nRelease++; WIT_RELEASE; printf("t=%d operator releases the hold (releasedAt=%d)\n", t, nw); x = 0; nw = 0 } }
  od
}
#endif

/*
 * Time, and the faults, which happen between ticks: the store goes down or comes back, an instance
 * crashes (the API stays served by the others; its sweep is lost) or restarts (maybe with another
 * clock), an agent dies for good; (CHECK_DETECT) faults stop for good: masters keep serving.
 */
proctype Env() {
  byte a, k;
end:
  do
  /* a tick ends: not while an alive agent owes a contact and the store serves (the premise of rule 5) */
  :: atomic { t < MAXT && !(storeUp && anyDue) && !anyMustSweep CALMSWEPT ->
     d_step {
#ifdef CHECK_DETECT
       /* eventual detection, as a bounded response: marked by max(calm, death) + BOUND */
       assert(!(calm && !alive[0] && aStatus[0] == AD && t >= max2(calmAt, deadAt) + BOUND));
#endif
       for (a : 0 .. NA - 1) {
         if
#ifdef SERVED_PREMISE
         :: alive[a] && storeUp && served[a] < H -> served[a]++   /* only ticks in which a master served */
#else
         :: alive[a] && served[a] < H -> served[a]++   /* every tick: a contact due in an outage comes when it ends */
#endif
         :: else
         fi
       }
       a = 0;
       for (a : 0 .. NI - 1) {
         if :: sinceStart[a] < I -> sinceStart[a]++ :: else fi;
         if
         :: ph[a] != IDLE && sAge[a] < MAXSTALL -> sAge[a]++
         :: ph[a] != IDLE && sAge[a] >= MAXSTALL ->   /* in progress too long: it fails */
            printf("t=%d I%d: sweep fails (in progress for %d ticks)\n", t, a, sAge[a] + 1);
            ph[a] = IDLE; sAge[a] = 0; sNow[a] = 0; sActBy[a] = 0; sMarks[a] = 0; mStale[a] = false; aStale[a] = 0
         :: else
         fi
       }
       a = 0;
       if :: storeUp && sinceUp < OUTSEP -> sinceUp++ :: else fi;
       if :: staleTtl > 0 -> staleTtl-- :: else fi;
       t++;
       printf("---- tick %d\n", t)
     };
     /* the store */
     if
     :: storeUp && nOut < NOUT && sinceUp >= OUTSEP NOTCALM WINDOWCALM -> storeUp = false; nOut++; printf("t=%d store down\n", t)
     :: !storeUp -> storeUp = true; sinceUp = 0; printf("t=%d store up\n", t)
     :: true
     fi;
     /* the sweepers stop, or start again */
     if
     :: !sweepOff && nLapse < NLAPSE NOTCALM -> sweepOff = true; nLapse++; printf("t=%d sweepers stop\n", t)
     :: sweepOff -> sweepOff = false; printf("t=%d sweepers run again\n", t)
     :: true
     fi;
     /* the instances */
     for (a : 0 .. NI - 1) {
       if
       :: up[a] && nUp > 1 && nCrash < NCRASH NOTCALM ->
          d_step {
            printf("t=%d I%d crashes\n", t, a);
            up[a] = false; nUp--; nCrash++; sinceStart[a] = I;
            ph[a] = IDLE; sAge[a] = 0; sNow[a] = 0; sActBy[a] = 0; sMarks[a] = 0; mStale[a] = false; aStale[a] = 0
          }
       :: !up[a] -> up[a] = true; nUp++; pickOffset(off[a]); printf("t=%d I%d restarts, clock offset %d\n", t, a, off[a] - S)
       :: true
       fi
     }
     a = 0;
     /* the agents */
     for (a : 0 .. NA - 1) {
       if
#ifdef CHECK_DETECT
       :: a == 0 && alive[0] -> alive[0] = false; served[0] = 0; rereg[0] = false; deadAt = t; printf("t=%d A0 dies\n", t)
       :: a != 0 || !alive[0] || t < DEATHBY -> skip
#else
       :: alive[a] && nDeath < NDEATH -> alive[a] = false; served[a] = 0; rereg[a] = false; nDeath++; printf("t=%d A%d dies\n", t, a)
       :: true
#endif
       fi
     }
     a = 0;
#ifdef CHECK_DETECT
     /* faults stop, by CALMBY at the latest: the store is up, every instance runs */
     if
     :: !calm ->
        calm = true; calmAt = t; storeUp = true; sweepOff = false; printf("t=%d calm from now on\n", t);
        for (a : 0 .. NI - 1) { if :: !up[a] -> up[a] = true; nUp++; pickOffset(off[a]) :: else fi }
        a = 0
     :: calm || t < CALMBY -> skip
     fi
#endif
  }
  od
}

init {
  byte i, a;
  atomic {
#ifdef START_LAPSED
    /* no sweeper ran for a while (the API served): the first sweep starts a new epoch */
    M.epoch = 1; M.last = T0 - L - S - 1; M.lease = M.last + L; M.floor = M.last; M.started = M.last; M.rstate = DONE;
#else
    M.epoch = 1; M.lease = T0 + L; M.last = T0; M.floor = T0; M.started = T0; M.rstate = DONE;
#endif
    for (a : 0 .. NA - 1) {
      aStatus[a] = AD; aEpoch[a] = 1; aSeen[a] = T0;
      alive[a] = true; agEpoch[a] = 1
    }
    for (i : 0 .. NI - 1) { up[i] = true; sinceStart[i] = I; pickOffset(off[i]); printf("I%d clock offset %d\n", i, off[i] - S) }
    for (i : 0 .. NI - 1) { run Instance(i) }
    for (a : 0 .. NA - 1) { run Agent(a) }
    run Env();
#ifndef CHECK_DETECT
    run Operator();
#endif
    i = 0; a = 0
  }
}
