/* mlgate.h - the whole public API: core (errors, units), targets, and the domains. */
#ifndef MLGATE_H
#define MLGATE_H

#include "mlgate/core.h"
#include "mlgate/target.h"
#include "mlgate/binaries.h"
#include "mlgate/models.h"
#include "mlgate/host.h"
#include "mlgate/gate.h"
#include "mlgate/explain.h"
#include "mlgate/lock.h"

#endif
