/*
 * gateway_mech.h - the gateway's mechanism: listeners, sessions, dialing
 * and relaying. Owned by the mechanism files; see gatewayd.h for policy.
 */
#ifndef SOCKS64_GATEWAY_MECH_H
#define SOCKS64_GATEWAY_MECH_H

#endif /* SOCKS64_GATEWAY_MECH_H */
