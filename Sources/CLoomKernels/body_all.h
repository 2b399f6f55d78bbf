// All kernel bodies, in dependency order.
#include "body_elementwise.h"
#include "body_unary.h"
#include "body_reduce.h"
#include "body_softmax.h"
#include "body_attention.h"
#include "body_norm.h"
#include "body_optim.h"
#include "body_table.h"
