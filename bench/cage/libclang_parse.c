// A bare libclang parse of the files `loom-bench cage` checks, the way ClangParser parses them (includes blanked,
// -nostdinc, KeepGoing | Incomplete, one index per file), without Loom's analysis: the floor for the cage's C analyser
// on libclang, and what the prelude costs. Mode 0: CPrelude's text before each file (Loom before session 14);
// 1: no prelude; 2: the prelude precompiled once (-include-pch, as PrecompiledPrelude does). CPU time of this
// process. Build and run: bench/cage/libclang_parse.sh
#include <clang-c/Index.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static char* slurp(const char*p,long*n){FILE*f=fopen(p,"rb");if(!f)return 0;fseek(f,0,2);*n=ftell(f);fseek(f,0,0);char*b=malloc(*n+1);fread(b,1,*n,f);fclose(f);b[*n]=0;return b;}
int main(int argc,char**argv){
  // argv[1]: prelude file, argv[2]: mode (0 inline prelude, 1 empty prelude, 2 pch), rest: files
  long pn; char*pre=slurp(argv[1],&pn); int mode=atoi(argv[2]);
  const char*args[]={"-x","c","-std=c11","-nostdinc","-w","-fno-spell-checking","-ferror-limit=0","-include-pch","prelude.pch"};
  int nargs = mode==2?9:7;
  double t0=now(); int errs=0; double tidx=0,tparse=0,tdisp=0;
  if(mode==2){ CXIndex ix=clang_createIndex(0,0); struct CXUnsavedFile u={argv[1],pre,pn}; CXTranslationUnit tu;
    clang_parseTranslationUnit2(ix,argv[1],args,7,&u,1,CXTranslationUnit_Incomplete|CXTranslationUnit_ForSerialization,&tu);
    printf("save %d\n",clang_saveTranslationUnit(tu,"prelude.pch",0)); clang_disposeTranslationUnit(tu); clang_disposeIndex(ix);}
  double tstart=now();
  for(int i=3;i<argc;i++){ long n; char*code=slurp(argv[i],&n); if(!code)continue;
    // blank includes
    for(char*p=code;(p=strstr(p,"#include"));) { while(*p && *p!='\n') *p++=' '; }
    long total = (mode==0?pn:0)+n; char*buf=malloc(total+1); long off=0;
    if(mode==0){memcpy(buf,pre,pn);off=pn;} memcpy(buf+off,code,n);
    double a=now(); CXIndex ix=clang_createIndex(0,0); double b=now();
    struct CXUnsavedFile u={"loom-input.c",buf,total}; CXTranslationUnit tu=0;
    clang_parseTranslationUnit2(ix,"loom-input.c",args,nargs,&u,1,CXTranslationUnit_KeepGoing|CXTranslationUnit_Incomplete,&tu);
    double c=now(); if(tu){errs+=clang_getNumDiagnostics(tu); clang_disposeTranslationUnit(tu);} clang_disposeIndex(ix); double d=now();
    tidx+=b-a; tparse+=c-b; tdisp+=d-c; free(buf); free(code);}
  printf("mode %d: cpu total %.3f s (index %.3f parse %.3f dispose %.3f) diags %d\n",mode,now()-tstart,tidx,tparse,tdisp,errs);
}
