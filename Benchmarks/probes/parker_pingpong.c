/* Two threads hand a token back and forth, each parking until the other unparks it: the
   parker WeirLog used before round 3 (a mutex, a condition variable on CLOCK_MONOTONIC and a
   flag; MODE 0) against the futex word of CWeirSupport/parker.c (MODE 1). Prints the time per
   round trip (two hand-offs), the process's user and system CPU and its context switches.

   cc -O2 -pthread -o /tmp/parker_pingpong Benchmarks/probes/parker_pingpong.c
   /tmp/parker_pingpong 0 200000 && /tmp/parker_pingpong 1 200000 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static int mode; static long rounds;
typedef struct { pthread_mutex_t m; pthread_cond_t c; int sig; uint32_t st; } P;
static P a, b;
static void init(P *p){ pthread_mutex_init(&p->m,0); pthread_condattr_t at; pthread_condattr_init(&at); pthread_condattr_setclock(&at, CLOCK_MONOTONIC); pthread_cond_init(&p->c,&at); p->sig=0; p->st=0; }
static void unpark(P *p){ if(mode==0){ pthread_mutex_lock(&p->m); p->sig=1; pthread_cond_signal(&p->c); pthread_mutex_unlock(&p->m);} else { if(__atomic_exchange_n(&p->st,1,__ATOMIC_RELEASE)==2) syscall(SYS_futex,&p->st,FUTEX_WAKE_PRIVATE,1,0,0,0);} }
static void park(P *p){ if(mode==0){ pthread_mutex_lock(&p->m); while(!p->sig){ struct timespec ts; clock_gettime(CLOCK_MONOTONIC,&ts); ts.tv_sec+=10; pthread_cond_timedwait(&p->c,&p->m,&ts);} p->sig=0; pthread_mutex_unlock(&p->m);} else { for(;;){ uint32_t e=1; if(__atomic_compare_exchange_n(&p->st,&e,0,0,__ATOMIC_ACQUIRE,__ATOMIC_RELAXED)) return; e=0; if(!__atomic_compare_exchange_n(&p->st,&e,2,0,__ATOMIC_ACQUIRE,__ATOMIC_ACQUIRE)){ p->st=0; return;} struct timespec ts; clock_gettime(CLOCK_MONOTONIC,&ts); ts.tv_sec+=10; syscall(SYS_futex,&p->st,FUTEX_WAIT_BITSET_PRIVATE,2,&ts,0,FUTEX_BITSET_MATCH_ANY); if(__atomic_exchange_n(&p->st,0,__ATOMIC_ACQUIRE)==1) return; } } }
static void *other(void *x){ for(long i=0;i<rounds;i++){ park(&b); unpark(&a);} return 0; }
int main(int argc,char**argv){ mode=atoi(argv[1]); rounds=atol(argv[2]); init(&a); init(&b); pthread_t t; pthread_create(&t,0,other,0);
 struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
 for(long i=0;i<rounds;i++){ unpark(&b); park(&a);} pthread_join(t,0); clock_gettime(CLOCK_MONOTONIC,&t1);
 struct rusage ru; getrusage(RUSAGE_SELF,&ru); double w=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)/1e9;
 printf("%s: %.2f us per round trip, user %.2f s sys %.2f s, vol/invol ctxsw %ld/%ld\n", mode?"futex word":"mutex+condvar", w/rounds*1e6, ru.ru_utime.tv_sec+ru.ru_utime.tv_usec/1e6, ru.ru_stime.tv_sec+ru.ru_stime.tv_usec/1e6, ru.ru_nvcsw, ru.ru_nivcsw); }
