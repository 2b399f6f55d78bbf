"""How much a conservative lexical pre-scan could skip for the cage's C analyser (issue 20): a file can skip the clang
parse only when no identifier in it could make a rule fire — no callee name any rule matches (CallRules,
FlowRules), no identifier whose words are a secret, weak-hash, weak-cipher or ECB word (SecretRules, CallRules'
crypto and randomness checks), no SHA-1 name, and no `##` (token pasting can build any name). Prints how many of
`loom-bench cage`'s files (wolfSSL and CyaSSL headers, wolfSSL's examples) would be skipped. The name lists mirror
Sources/LoomCage/CCode as of session 14. Usage: python3 bench/cage/prescan_estimate.py
"""
import re,glob
files = sorted(glob.glob('/usr/include/wolfssl/**/*.h', recursive=True) + glob.glob('/usr/include/cyassl/**/*.h', recursive=True) + glob.glob('/usr/share/doc/libwolfssl-dev/examples/*.c'))
names=set("gets _getws _getts strcpy wcscpy lstrcpy lstrcpyA lstrcpyW _tcscpy _mbscpy stpcpy StrCpy _ftcscpy strcat wcscat lstrcat lstrcatA lstrcatW _tcscat _mbscat StrCat _ftcscat sprintf vsprintf wsprintf wsprintfA wsprintfW _stprintf scanf vscanf wscanf fscanf sscanf vfscanf vsscanf fwscanf swscanf system popen _popen _wsystem _wpopen execl execlp execle execv execvp execve execvpe _execl _execv _execvp _execlp malloc realloc alloca XMALLOC XREALLOC g_malloc kmalloc memcpy memmove strncpy wcsncpy CopyMemory strlcpy _tcsncpy read recv pread fgets snprintf vsnprintf strncat _tcsncat wcsncat _mbsncat MultiByteToWideChar SetSecurityDescriptorDacl rand random lrand48 drand48 mrand48 rand_r erand48 nrand48 srand srandom srand48 printf vprintf wprintf vwprintf fprintf vfprintf fwprintf dprintf vdprintf swprintf asprintf vasprintf syslog vsyslog err errx warn warnx verr verrx vwarn vwarnx printk calloc strdup strndup aligned_alloc reallocarray free XFREE cfree g_free access stat lstat faccessat euidaccess eaccess open fopen freopen creat openat chmod chown lchown truncate unlink remove rename opendir link symlink WC_HASH_TYPE_SHA NID_sha1 EVP_sha1 WC_SHA SHA1 NID_sha1WithRSAEncryption CTC_SHAwRSA CTC_SHAwECDSA SHA".split())
words=set("md5 md4 md2 des des3 3des arc4 rc4 rc2 bf blowfish ecb key keys nonce iv salt token secret password passwd pwd session challenge otp cookie csrf privkey priv passphrase pass apikey psk credential credentials".split())
def split(ident):
    out=[];cur='';prev=' '
    for ch in ident:
        if not ch.isalnum():
            if cur: out.append(cur.lower())
            cur=''
        elif ch.isupper() and (prev.islower() or prev.isdigit()) and cur:
            out.append(cur.lower()); cur=ch
        else: cur+=ch
        prev=ch
    if cur: out.append(cur.lower())
    return out
skip=0; skipbytes=0; total=0
for f in files:
    t=open(f,'rb').read().decode('latin1'); total+=len(t)
    ids=set(re.findall(r'[A-Za-z_][A-Za-z0-9_]*',t))
    hit = '##' in t or any(i in names for i in ids) or any(w in words for i in ids for w in split(i))
    if not hit: skip+=1; skipbytes+=len(t)
print(len(files), "files; skippable", skip, "bytes", skipbytes, "of", total)
