/* Splitting a CSV line into fields, shared by the CSV importers (import_csv.c, where it is
 * defined, and import_series.c). */
#ifndef NNI_DATA_CSV_FIELDS_H
#define NNI_DATA_CSV_FIELDS_H

typedef struct nni_csv_fields {
    char **items; /* pointers into the line */
    int count, cap;
} nni_csv_fields;

/* Splits line in place into fields (quoted fields unquoted, blanks around fields dropped).
 * Returns 0, the 1-based column of a badly quoted field, or -1 when out of memory. Free
 * fields->items when done. */
int nni_csv_split_line(char *line, char delimiter, nni_csv_fields *fields);

#endif
