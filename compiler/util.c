/* util.c — region allocator, text buffers, checked size arithmetic, opening input files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln.h"

/* Chunks form a list; big requests get a chunk of their own. */
typedef struct Chunk { struct Chunk *next; size_t used, cap; _Alignas(16) unsigned char mem[]; } Chunk;
struct Arena { Chunk *head; };

enum { CHUNK_SIZE = 1 << 16 };

Arena *arena_new(void)
{
    return calloc(1, sizeof(Arena));
}

void arena_free(Arena *a)
{
    if (!a) return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
        Chunk *fresh = malloc(sizeof(Chunk) + cap);
        if (!fresh) return NULL;
        fresh->used = 0;
        fresh->cap = cap;
        if (c && cap == n) { /* keep filling the current small chunk */
            fresh->next = c->next;
            c->next = fresh;
        } else {
            fresh->next = c;
            a->head = fresh;
        }
        c = fresh;
    }
    void *p = c->mem + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static void buf_reserve(Buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) abort(); /* text buffers are small; running out here is not recoverable */
    b->data = p;
    b->cap = cap;
}

void buf_put(Buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_free(Buf *b)
{
    free(b->data);
    *b = (Buf){0};
}

bool mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

/* Big allocations (weights, folded constants, file contents) are counted
 * against --max-memory; small bookkeeping is not. Default: 8 GiB. */
Limits kiln_limits = {.max_memory = (size_t)8 << 30};

Status mem_reserve(size_t bytes, const struct Node *n, const char *what, Diag *d)
{
    Limits *l = &kiln_limits;
    if (bytes > l->max_memory || l->used > l->max_memory - bytes)
        return diag_error(d, ST_INPUT, n, "%s needs %zu bytes, beyond the compiler's memory limit (%zu of %zu bytes "
                          "used; raise it with --max-memory=SIZE)", what, bytes, l->used, l->max_memory);
    l->used += bytes;
    return ST_OK;
}

bool parse_size(const char *s, size_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return false;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v > (SIZE_MAX >> shift)) return false;
    *out = (size_t)v << shift;
    return true;
}

FILE *open_regular_file(const char *path, size_t *size, Diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(d, ST_INPUT, NULL, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        diag_error(d, ST_INPUT, NULL, "'%s' is not a regular file", path);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}
