/* kiln_threads.c — the thread pool of modules compiled with --threads.
 *
 * One pool per process, created at the first parallel call with one worker
 * per task but one (the caller is the last thread; at most
 * KILN_RT_POOL_THREADS in all),
 * never torn down and never re-created per call. A job is a counter of task
 * indices that the workers and the caller take from until none is left.
 * Waking a sleeping thread takes tens of microseconds, longer than many
 * tasks: so a worker first spins a while for the next job, and the caller
 * for the last task, before they sleep on the condition variables. They
 * spin on sched_yield, not on a pause instruction: when another process
 * shares the core, the thread waited for gets it at once, where a pausing
 * spinner would hold it for its whole time slice. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "kiln_rt.h"

#ifndef KILN_RT_POOL_THREADS
#define KILN_RT_POOL_THREADS 64
#endif

/* Rounds of spinning before sleeping, about 1 ms (GCC and Clang: atomics
 * without C11 headers). */
#if defined(__GNUC__) || defined(__clang__)
#define KILN_RT_SPIN 2000
#define KILN_RT_LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define KILN_RT_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#else
#define KILN_RT_SPIN 0
#define KILN_RT_LOAD(x) (x)
#define KILN_RT_STORE(x, v) ((x) = (v))
#endif

static struct {
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t work;      /* a job was posted */
    pthread_cond_t done;      /* the last task of a job finished */
    pthread_mutex_t busy;     /* held by the caller whose job is running */
    int started, workers;
    unsigned long generation; /* bumped per job, so a worker sees each job once */
    void (*fn)(void *, int);
    void *ctx;
    int n, next, pending;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
          0, 0, 0, 0, 0, 0, 0, 0};

/* Take and run tasks of the current job until none is left; called with the lock held. */
static void drain(void)
{
    while (pool.next < pool.n) {
        int i = pool.next++;
        void (*fn)(void *, int) = pool.fn;
        void *ctx = pool.ctx;
        pthread_mutex_unlock(&pool.lock);
        fn(ctx, i);
        pthread_mutex_lock(&pool.lock);
        KILN_RT_STORE(pool.pending, pool.pending - 1);
        if (pool.pending == 0) pthread_cond_broadcast(&pool.done);
    }
}

static void *worker(void *arg)
{
    unsigned long seen = 0;
    long k;
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        if (pool.generation == seen) {
            pthread_mutex_unlock(&pool.lock);
            for (k = 0; k < KILN_RT_SPIN && KILN_RT_LOAD(pool.generation) == seen; k++) sched_yield();
            pthread_mutex_lock(&pool.lock);
        }
        while (pool.generation == seen) pthread_cond_wait(&pool.work, &pool.lock);
        seen = pool.generation;
        drain();
    }
    return NULL;
}

/* Called once, with the lock held, by the first parallel call: its task count sizes the pool. */
static void start_pool(int size)
{
    int k;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (k = 0; k < size - 1; k++) {
        pthread_t t;
        if (pthread_create(&t, &attr, worker, NULL) != 0) break; /* fewer workers: still correct */
        pool.workers++;
    }
    pthread_attr_destroy(&attr);
}

void kiln_rt_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx)
{
    int i;
    if (n <= 0) return;
    pthread_mutex_lock(&pool.lock);
    if (!pool.started) {
        pool.started = 1;
        start_pool(n < KILN_RT_POOL_THREADS ? n : KILN_RT_POOL_THREADS);
    }
    pthread_mutex_unlock(&pool.lock);
    if (n == 1 || pool.workers == 0 || pthread_mutex_trylock(&pool.busy) != 0) {
        for (i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn, pool.ctx = ctx, pool.n = n, pool.next = 0, pool.pending = n;
    KILN_RT_STORE(pool.generation, pool.generation + 1);
    pthread_cond_broadcast(&pool.work);
    drain();
    if (pool.pending > 0) {
        long k;
        pthread_mutex_unlock(&pool.lock);
        for (k = 0; k < KILN_RT_SPIN && KILN_RT_LOAD(pool.pending) > 0; k++) sched_yield();
        pthread_mutex_lock(&pool.lock);
    }
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.busy);
}
