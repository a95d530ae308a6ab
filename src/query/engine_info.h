/* The version of the linked SQL engine (DuckDB), e.g. "v1.4.4". */
#ifndef QX_QUERY_ENGINE_INFO_H
#define QX_QUERY_ENGINE_INFO_H

const char *qx_sql_engine_version(void);

#endif
