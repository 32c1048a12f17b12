// libnfs.h uses these types without including their headers.
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <nfsc/libnfs.h>
