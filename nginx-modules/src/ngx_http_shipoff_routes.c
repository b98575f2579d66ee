
/*
 * The route table in the shipoff_routes shared zone.
 *
 * Every change builds complete new nodes first and only then, still under
 * the zone's mutex, unlinks the old ones: a change that does not fit in
 * the zone changes nothing.  A route keeps its activity counters (and its
 * serial, by which a finished request finds the route it counted in) when
 * it is replaced, by one host or by a whole table.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


static u_char *ngx_http_shipoff_routes_str_copy(ngx_str_t *dst,
    ngx_str_t *src, u_char *p);
static void ngx_http_shipoff_routes_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_shipoff_routes_insert(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_t *route);
static ngx_http_shipoff_route_t *ngx_http_shipoff_routes_alloc(
    ngx_http_shipoff_routes_t *routes, ngx_http_shipoff_route_info_t *info);
static void ngx_http_shipoff_routes_keep(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_t *route, ngx_http_shipoff_route_t *old);
static ngx_http_shipoff_route_t *ngx_http_shipoff_routes_next(
    ngx_http_shipoff_routes_t *routes, ngx_http_shipoff_route_t *one,
    ngx_http_shipoff_route_t *route);
static void ngx_http_shipoff_routes_load(ngx_http_shipoff_routes_t *routes,
    ngx_log_t *log);


ngx_int_t
ngx_http_shipoff_routes_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_shipoff_routes_t  *oroutes = data;

    size_t                      len;
    ngx_http_shipoff_routes_t  *routes;

    routes = shm_zone->data;

    if (oroutes) {
        routes->sh = oroutes->sh;
        routes->shpool = oroutes->shpool;
        return NGX_OK;
    }

    routes->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        routes->sh = routes->shpool->data;
        return NGX_OK;
    }

    routes->sh = ngx_slab_calloc(routes->shpool,
                                 sizeof(ngx_http_shipoff_routes_sh_t));
    if (routes->sh == NULL) {
        return NGX_ERROR;
    }

    routes->shpool->data = routes->sh;

    ngx_rbtree_init(&routes->sh->rbtree, &routes->sh->sentinel,
                    ngx_http_shipoff_routes_insert_value);

    len = sizeof(" in shipoff_routes zone \"\"") + shm_zone->shm.name.len;

    routes->shpool->log_ctx = ngx_slab_alloc(routes->shpool, len);
    if (routes->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(routes->shpool->log_ctx, " in shipoff_routes zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is answered with 507, not worth an alert */
    routes->shpool->log_nomem = 0;

    if (routes->snapshot.len) {
        ngx_http_shipoff_routes_load(routes, shm_zone->shm.log);
    }

    return NGX_OK;
}


/* the caller holds the zone's mutex */

ngx_http_shipoff_route_t *
ngx_http_shipoff_routes_lookup(ngx_http_shipoff_routes_t *routes,
    ngx_str_t *host, uint32_t hash)
{
    ngx_int_t                  rc;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_shipoff_route_t  *route;

    node = routes->sh->rbtree.root;
    sentinel = routes->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        route = (ngx_http_shipoff_route_t *) node;

        rc = ngx_memn2cmp(host->data, route->info.host.data,
                          host->len, route->info.host.len);

        if (rc == 0) {
            return route;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* NGX_OK, or NGX_DECLINED when the zone is full */

ngx_int_t
ngx_http_shipoff_routes_set(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_info_t *info, ngx_uint_t *created)
{
    ngx_http_shipoff_route_t  *route, *old;

    ngx_shmtx_lock(&routes->shpool->mutex);

    route = ngx_http_shipoff_routes_alloc(routes, info);

    if (route == NULL) {
        ngx_shmtx_unlock(&routes->shpool->mutex);
        return NGX_DECLINED;
    }

    old = ngx_http_shipoff_routes_lookup(routes, &route->info.host,
                                         route->node.key);

    ngx_http_shipoff_routes_keep(routes, route, old);

    if (old) {
        ngx_rbtree_delete(&routes->sh->rbtree, &old->node);
        ngx_slab_free_locked(routes->shpool, old);

    } else {
        routes->sh->nroutes++;
    }

    ngx_http_shipoff_routes_insert(routes, route);

    routes->sh->writes++;

    ngx_shmtx_unlock(&routes->shpool->mutex);

    *created = (old == NULL);

    return NGX_OK;
}


/* NGX_OK, or NGX_DECLINED when there is no such route */

ngx_int_t
ngx_http_shipoff_routes_delete(ngx_http_shipoff_routes_t *routes,
    ngx_str_t *host)
{
    ngx_http_shipoff_route_t  *route;

    ngx_shmtx_lock(&routes->shpool->mutex);

    route = ngx_http_shipoff_routes_lookup(routes, host,
                                           ngx_crc32_short(host->data,
                                                           host->len));
    if (route == NULL) {
        ngx_shmtx_unlock(&routes->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_rbtree_delete(&routes->sh->rbtree, &route->node);
    ngx_slab_free_locked(routes->shpool, route);
    routes->sh->nroutes--;
    routes->sh->writes++;

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return NGX_OK;
}


/*
 * Swaps in a whole table (an array of ngx_http_shipoff_route_info_t with
 * distinct hosts): NGX_OK, NGX_DECLINED when the old and the new table do
 * not fit in the zone together, NGX_ERROR.
 */

ngx_int_t
ngx_http_shipoff_routes_replace(ngx_http_shipoff_routes_t *routes,
    uint64_t generation, ngx_array_t *infos)
{
    ngx_uint_t                      i;
    ngx_rbtree_node_t              *root;
    ngx_http_shipoff_route_t      **fresh, *old;
    ngx_http_shipoff_route_info_t  *info;

    fresh = ngx_palloc(infos->pool,
                       (infos->nelts + 1) * sizeof(ngx_http_shipoff_route_t *));
    if (fresh == NULL) {
        return NGX_ERROR;
    }

    info = infos->elts;

    ngx_shmtx_lock(&routes->shpool->mutex);

    for (i = 0; i < infos->nelts; i++) {
        fresh[i] = ngx_http_shipoff_routes_alloc(routes, &info[i]);

        if (fresh[i] == NULL) {
            while (i--) {
                ngx_slab_free_locked(routes->shpool, fresh[i]);
            }

            ngx_shmtx_unlock(&routes->shpool->mutex);
            return NGX_DECLINED;
        }
    }

    for (i = 0; i < infos->nelts; i++) {
        old = ngx_http_shipoff_routes_lookup(routes, &fresh[i]->info.host,
                                             fresh[i]->node.key);
        ngx_http_shipoff_routes_keep(routes, fresh[i], old);
    }

    for ( ;; ) {
        root = routes->sh->rbtree.root;

        if (root == routes->sh->rbtree.sentinel) {
            break;
        }

        ngx_rbtree_delete(&routes->sh->rbtree, root);
        ngx_slab_free_locked(routes->shpool, root);
    }

    for (i = 0; i < infos->nelts; i++) {
        ngx_http_shipoff_routes_insert(routes, fresh[i]);
    }

    routes->sh->nroutes = infos->nelts;
    routes->sh->generation = generation;
    routes->sh->writes++;

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return NGX_OK;
}


/*
 * Copies the whole table (host NULL) or the route of host (none if there
 * is no such route) into pool.  The zone's mutex, which every request
 * takes, is held for the copying only: whoever formats the table does it
 * from the copy.  NGX_OK or NGX_ERROR.
 */

ngx_int_t
ngx_http_shipoff_routes_copy(ngx_http_shipoff_routes_t *routes,
    ngx_pool_t *pool, ngx_str_t *host, ngx_http_shipoff_table_copy_t *table)
{
    u_char                         *p;
    size_t                          size;
    ngx_int_t                       rc;
    ngx_uint_t                      n;
    ngx_http_shipoff_route_t       *route, *one;
    ngx_http_shipoff_route_copy_t  *copy;

    ngx_memzero(table, sizeof(ngx_http_shipoff_table_copy_t));

    rc = NGX_OK;
    one = NULL;

    ngx_shmtx_lock(&routes->shpool->mutex);

    table->generation = routes->sh->generation;

    if (host) {
        one = ngx_http_shipoff_routes_lookup(routes, host,
                                             ngx_crc32_short(host->data,
                                                             host->len));
        if (one == NULL) {
            goto done;
        }
    }

    n = 0;
    size = 0;

    for (route = ngx_http_shipoff_routes_next(routes, one, NULL);
         route;
         route = ngx_http_shipoff_routes_next(routes, one, route))
    {
        n++;
        size += ngx_http_shipoff_route_info_size(&route->info);
    }

    if (n == 0) {
        goto done;
    }

    copy = ngx_palloc(pool, n * sizeof(ngx_http_shipoff_route_copy_t) + size);
    if (copy == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    table->routes = copy;
    table->nroutes = n;

    p = (u_char *) (copy + n);

    for (route = ngx_http_shipoff_routes_next(routes, one, NULL);
         route;
         route = ngx_http_shipoff_routes_next(routes, one, route))
    {
        p = ngx_http_shipoff_route_info_copy(&copy->info, &route->info, p);
        copy->activity = route->activity;
        copy++;
    }

done:

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return rc;
}


size_t
ngx_http_shipoff_route_info_size(ngx_http_shipoff_route_info_t *info)
{
    return info->host.len + info->project.len + info->root.len
           + info->upstream.len + info->deployment.len
           + info->script_root.len;
}


/* copies src to dst, its strings to p; returns the end of the strings */

u_char *
ngx_http_shipoff_route_info_copy(ngx_http_shipoff_route_info_t *dst,
    ngx_http_shipoff_route_info_t *src, u_char *p)
{
    *dst = *src;

    p = ngx_http_shipoff_routes_str_copy(&dst->host, &src->host, p);
    p = ngx_http_shipoff_routes_str_copy(&dst->project, &src->project, p);
    p = ngx_http_shipoff_routes_str_copy(&dst->root, &src->root, p);
    p = ngx_http_shipoff_routes_str_copy(&dst->upstream, &src->upstream, p);
    p = ngx_http_shipoff_routes_str_copy(&dst->script_root, &src->script_root,
                                         p);

    return ngx_http_shipoff_routes_str_copy(&dst->deployment,
                                            &src->deployment, p);
}


/* an absent string has no data to copy from (memcpy() wants one) */

static u_char *
ngx_http_shipoff_routes_str_copy(ngx_str_t *dst, ngx_str_t *src, u_char *p)
{
    dst->data = p;

    if (src->len == 0) {
        return p;
    }

    return ngx_cpymem(p, src->data, src->len);
}


static void
ngx_http_shipoff_routes_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_shipoff_route_t   *route, *troute;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            route = (ngx_http_shipoff_route_t *) node;
            troute = (ngx_http_shipoff_route_t *) temp;

            p = (ngx_memn2cmp(route->info.host.data, troute->info.host.data,
                              route->info.host.len, troute->info.host.len)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void
ngx_http_shipoff_routes_insert(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_t *route)
{
    /*
     * The tree's insert hook is an address in this library, and the zone
     * outlives reloads, which may load the library at another address:
     * every process sets its own before inserting, under the mutex.
     */

    routes->sh->rbtree.insert = ngx_http_shipoff_routes_insert_value;

    ngx_rbtree_insert(&routes->sh->rbtree, &route->node);
}


/* the caller holds the zone's mutex */

static ngx_http_shipoff_route_t *
ngx_http_shipoff_routes_alloc(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_info_t *info)
{
    ngx_http_shipoff_route_t  *route;

    route = ngx_slab_alloc_locked(routes->shpool,
                                  sizeof(ngx_http_shipoff_route_t)
                                  + ngx_http_shipoff_route_info_size(info));
    if (route == NULL) {
        return NULL;
    }

    ngx_memzero(route, sizeof(ngx_http_shipoff_route_t));

    (void) ngx_http_shipoff_route_info_copy(&route->info, info,
                                            (u_char *) (route + 1));

    route->node.key = ngx_crc32_short(info->host.data, info->host.len);

    return route;
}


/* the new node of a route takes over the activity of the old one, if any */

static void
ngx_http_shipoff_routes_keep(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_t *route, ngx_http_shipoff_route_t *old)
{
    if (old == NULL) {
        route->serial = ++routes->sh->serial;
        return;
    }

    route->serial = old->serial;
    route->activity = old->activity;
}


/*
 * The route after route (NULL: the first) in table order, of the whole
 * table or, if one is not NULL, of that route alone.  The caller holds the
 * zone's mutex.
 */

static ngx_http_shipoff_route_t *
ngx_http_shipoff_routes_next(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_t *one, ngx_http_shipoff_route_t *route)
{
    ngx_rbtree_t  *tree;

    if (one) {
        return route ? NULL : one;
    }

    tree = &routes->sh->rbtree;

    if (route) {
        return (ngx_http_shipoff_route_t *) ngx_rbtree_next(tree,
                                                            &route->node);
    }

    if (tree->root == tree->sentinel) {
        return NULL;
    }

    return (ngx_http_shipoff_route_t *) ngx_rbtree_min(tree->root,
                                                       tree->sentinel);
}


/*
 * Fills a fresh zone from the snapshot file.  A missing or bad snapshot
 * leaves the table empty at generation 0, which tells shipoffd to push the
 * whole table again: nginx starts either way.
 */

static void
ngx_http_shipoff_routes_load(ngx_http_shipoff_routes_t *routes,
    ngx_log_t *log)
{
    u_char                    *buf;
    size_t                     size;
    ssize_t                    n;
    uint64_t                   generation;
    ngx_err_t                  err;
    ngx_uint_t                 level;
    ngx_file_t                 file;
    ngx_pool_t                *pool;
    ngx_array_t               *infos;
    ngx_file_info_t            fi;
    ngx_http_shipoff_error_t   error;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = routes->snapshot;
    file.log = log;

    file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        err = ngx_errno;
        level = (err == NGX_ENOENT) ? NGX_LOG_NOTICE : NGX_LOG_ERR;

        ngx_log_error(level, log, err, ngx_open_file_n " \"%V\" failed, "
                      "route table starts empty", &file.name);
        goto done;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", &file.name);
        goto close;
    }

    size = (size_t) ngx_file_size(&fi);

    /* a table larger than the zone could never be loaded into it */

    if (size > (size_t) (routes->shpool->end - (u_char *) routes->shpool)) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "route snapshot \"%V\" is larger than its zone, "
                      "route table starts empty", &file.name);
        goto close;
    }

    buf = ngx_pnalloc(pool, size + 1);
    if (buf == NULL) {
        goto close;
    }

    n = ngx_read_file(&file, buf, size, 0);

    if (n == NGX_ERROR) {
        goto close;
    }

    if ((size_t) n != size) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      ngx_read_file_n " \"%V\" returned only %z bytes "
                      "instead of %uz", &file.name, n, size);
        goto close;
    }

    ngx_memzero(&error, sizeof(ngx_http_shipoff_error_t));

    switch (ngx_http_shipoff_parse_table(routes->apps_domain, pool, buf,
                                         buf + size, &generation, &infos,
                                         &error))
    {
    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "route snapshot \"%V\" ignored, %s: %s \"%V\" "
                      "at offset %uz", &file.name, error.code, error.message,
                      &error.field, error.offset);
        goto close;

    default:
        goto close;
    }

    switch (ngx_http_shipoff_routes_replace(routes, generation, infos)) {
    case NGX_OK:
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "loaded %ui routes of generation %uL from \"%V\"",
                      infos->nelts, generation, &file.name);
        break;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "route snapshot \"%V\" does not fit in its zone, "
                      "route table starts empty", &file.name);
        break;

    default:
        break;
    }

close:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file.name);
    }

done:

    ngx_destroy_pool(pool);
}
