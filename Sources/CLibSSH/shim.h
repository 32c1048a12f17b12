#include <libssh/libssh.h>
#include <libssh/callbacks.h>
