// What the analyser puts before the code instead of system headers: the common libc types, constants and
// prototypes, so that snippets without `#include`s (the usual model answer) still yield typed call expressions.
// Parsing real headers would cost tens of milliseconds per answer; this costs next to nothing.

enum CPrelude {
  static func text(cplusplus: Bool) -> String {
    var text = cplusplus ? cplusplusTypes : cTypes
    text += common
    text += cplusplus ? "extern \"C\" {\n" + functions + "}\n" : functions
    return text
  }

  private static let cTypes = """
    typedef __WCHAR_TYPE__ wchar_t;
    typedef _Bool bool;
    #define true 1
    #define false 0
    #define NULL ((void *)0)

    """

  private static let cplusplusTypes = """
    #define NULL __null

    """

  private static let common = """
    typedef __SIZE_TYPE__ size_t;
    typedef long ssize_t;
    typedef __PTRDIFF_TYPE__ ptrdiff_t;
    typedef __INT8_TYPE__ int8_t;
    typedef __INT16_TYPE__ int16_t;
    typedef __INT32_TYPE__ int32_t;
    typedef __INT64_TYPE__ int64_t;
    typedef __UINT8_TYPE__ uint8_t;
    typedef __UINT16_TYPE__ uint16_t;
    typedef __UINT32_TYPE__ uint32_t;
    typedef __UINT64_TYPE__ uint64_t;
    typedef __INTPTR_TYPE__ intptr_t;
    typedef __UINTPTR_TYPE__ uintptr_t;
    typedef __INTMAX_TYPE__ intmax_t;
    typedef __UINTMAX_TYPE__ uintmax_t;
    typedef unsigned char byte;
    typedef unsigned short word16;
    typedef unsigned int word32;
    typedef unsigned long long word64;
    typedef long off_t;
    typedef long time_t;
    typedef long clock_t;
    typedef int pid_t;
    typedef unsigned int mode_t;
    typedef unsigned int uid_t;
    typedef unsigned int gid_t;
    typedef unsigned int socklen_t;
    typedef __builtin_va_list va_list;
    typedef struct _IO_FILE FILE;
    typedef struct __dirstream DIR;
    struct stat { long st_size; unsigned int st_mode; long st_mtime; unsigned int st_uid; };
    struct timeval { long tv_sec; long tv_usec; };
    struct timespec { long tv_sec; long tv_nsec; };
    extern FILE *stdin, *stdout, *stderr;
    extern int errno;
    #define va_start(ap, last) __builtin_va_start(ap, last)
    #define va_end(ap) __builtin_va_end(ap)
    #define va_arg(ap, type) __builtin_va_arg(ap, type)
    #define va_copy(dst, src) __builtin_va_copy(dst, src)
    #define offsetof(type, member) __builtin_offsetof(type, member)
    #define EOF (-1)
    #define BUFSIZ 8192
    #define PATH_MAX 4096
    #define SIZE_MAX __SIZE_MAX__
    #define INT_MAX __INT_MAX__
    #define UINT_MAX (__INT_MAX__ * 2U + 1U)
    #define LONG_MAX __LONG_MAX__
    #define CHAR_BIT 8
    #define EXIT_SUCCESS 0
    #define EXIT_FAILURE 1
    #define RAND_MAX 2147483647
    #define O_RDONLY 0
    #define O_WRONLY 1
    #define O_RDWR 2
    #define O_CREAT 0100
    #define O_EXCL 0200
    #define O_TRUNC 01000
    #define O_APPEND 02000
    #define O_NOFOLLOW 0400000
    #define F_OK 0
    #define X_OK 1
    #define W_OK 2
    #define R_OK 4
    #define SEEK_SET 0
    #define SEEK_CUR 1
    #define SEEK_END 2
    #define LOG_ERR 3
    #define LOG_WARNING 4
    #define LOG_INFO 6
    #define LOG_CRIT 2

    """

  private static let functions = """
    void *malloc(size_t);
    void *calloc(size_t, size_t);
    void *realloc(void *, size_t);
    void *reallocarray(void *, size_t, size_t);
    void *aligned_alloc(size_t, size_t);
    void free(void *);
    void *memcpy(void *, const void *, size_t);
    void *memmove(void *, const void *, size_t);
    void *memset(void *, int, size_t);
    int memcmp(const void *, const void *, size_t);
    size_t strlen(const char *);
    size_t strnlen(const char *, size_t);
    char *strcpy(char *, const char *);
    char *strncpy(char *, const char *, size_t);
    char *strcat(char *, const char *);
    char *strncat(char *, const char *, size_t);
    size_t strlcpy(char *, const char *, size_t);
    size_t strlcat(char *, const char *, size_t);
    int strcmp(const char *, const char *);
    int strncmp(const char *, const char *, size_t);
    char *strdup(const char *);
    char *strndup(const char *, size_t);
    char *strchr(const char *, int);
    char *strrchr(const char *, int);
    char *strstr(const char *, const char *);
    char *strtok(char *, const char *);
    char *strerror(int);
    int printf(const char *, ...);
    int fprintf(FILE *, const char *, ...);
    int dprintf(int, const char *, ...);
    int sprintf(char *, const char *, ...);
    int snprintf(char *, size_t, const char *, ...);
    int vprintf(const char *, va_list);
    int vfprintf(FILE *, const char *, va_list);
    int vsprintf(char *, const char *, va_list);
    int vsnprintf(char *, size_t, const char *, va_list);
    int scanf(const char *, ...);
    int fscanf(FILE *, const char *, ...);
    int sscanf(const char *, const char *, ...);
    char *gets(char *);
    char *fgets(char *, int, FILE *);
    int getchar(void);
    int fgetc(FILE *);
    int puts(const char *);
    int fputs(const char *, FILE *);
    int putchar(int);
    void perror(const char *);
    FILE *fopen(const char *, const char *);
    FILE *fdopen(int, const char *);
    FILE *freopen(const char *, const char *, FILE *);
    int fclose(FILE *);
    size_t fread(void *, size_t, size_t, FILE *);
    size_t fwrite(const void *, size_t, size_t, FILE *);
    int fflush(FILE *);
    int open(const char *, int, ...);
    int openat(int, const char *, int, ...);
    int creat(const char *, mode_t);
    ssize_t read(int, void *, size_t);
    ssize_t write(int, const void *, size_t);
    int close(int);
    int access(const char *, int);
    int stat(const char *, struct stat *);
    int lstat(const char *, struct stat *);
    int fstat(int, struct stat *);
    int unlink(const char *);
    int remove(const char *);
    int rename(const char *, const char *);
    int chmod(const char *, mode_t);
    int chown(const char *, uid_t, gid_t);
    int system(const char *);
    FILE *popen(const char *, const char *);
    int pclose(FILE *);
    int execl(const char *, const char *, ...);
    int execlp(const char *, const char *, ...);
    int execle(const char *, const char *, ...);
    int execv(const char *, char *const[]);
    int execvp(const char *, char *const[]);
    int execve(const char *, char *const[], char *const[]);
    pid_t fork(void);
    int rand(void);
    void srand(unsigned int);
    long random(void);
    void srandom(unsigned int);
    time_t time(time_t *);
    pid_t getpid(void);
    char *getenv(const char *);
    void exit(int);
    void abort(void);
    int atoi(const char *);
    long atol(const char *);
    long strtol(const char *, char **, int);
    unsigned long strtoul(const char *, char **, int);
    void syslog(int, const char *, ...);
    ssize_t recv(int, void *, size_t, int);
    ssize_t send(int, const void *, size_t, int);

    """
}
