#ifndef CARAVAN_CROCKSDB_SHIM_H
#define CARAVAN_CROCKSDB_SHIM_H
#include <rocksdb/c.h>
#endif
