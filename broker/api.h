/*
 * api.h - the v1 HTTP API: one route table for both sockets (route.h),
 * one handler per route.
 */
#ifndef WRIT_API_H
#define WRIT_API_H

#include <microhttpd.h>

struct policy;
struct req;

/*
 * Answer (or suspend) the complete request rq: route by socket, method,
 * path and query (route_find).  Unknown paths are 404, known paths with
 * another method 405, a query argument the route does not take or of the
 * wrong form 400.
 */
enum MHD_Result api_dispatch(struct MHD_Connection *c, struct req *rq,
    const char *method, const char *url);

/*
 * Put p in force (writd owns it from now on); returns the policy it
 * replaces, for the caller to free.  Requests in flight finish under the
 * policy they started with.
 */
struct policy *api_set_policy(struct policy *p);

#endif
