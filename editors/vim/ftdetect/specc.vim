" specc .nn specs (see docs/editors.md)
autocmd BufRead,BufNewFile *.nn setfiletype specc
